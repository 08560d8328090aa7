"""Upgrading a deployment: the tallies already counted gain what later versions keep."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from vaxnet.geo.models import Region

BEFORE = [("dashboard", "0002_tally_covering_index")]
AFTER = [("dashboard", "0003_tally_span")]


@pytest.mark.django_db(transaction=True)
def test_the_days_counted_before_gain_their_months_and_years() -> None:
    region = Region.objects.get(code="TS-N")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("dashboard", "Tally")
    days = [(date(2025, 12, 30), 2), (date(2026, 1, 5), 3), (date(2026, 1, 20), 4)]
    for day, count in days:
        old.objects.create(metric="doses", day=day, region_id=region.pk, count=count)
    old.objects.create(
        metric="doses", day=date(2026, 1, 5), region_id=region.pk, dim="hour", value="09", count=3
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("dashboard", "Tally")
        kept = {
            (span, day, dim): count
            for span, day, dim, count in new.objects.values_list("span", "day", "dim", "count")
        }
        assert kept == {
            ("d", date(2025, 12, 30), ""): 2,
            ("d", date(2026, 1, 5), ""): 3,
            ("d", date(2026, 1, 20), ""): 4,
            ("d", date(2026, 1, 5), "hour"): 3,
            ("m", date(2025, 12, 1), ""): 2,
            ("m", date(2026, 1, 1), ""): 7,
            ("y", date(2025, 1, 1), ""): 2,
            ("y", date(2026, 1, 1), ""): 7,
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_tallies_counted_before_gain_their_children_and_all_vaccines() -> None:
    district = Region.objects.get(code="TS-S-SEA")
    state = Region.objects.get(code="TS-S")
    root = state.parent_id
    before, after = [("dashboard", "0003_tally_span")], [("dashboard", "0004_tally_reads")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("dashboard", "Tally")
    day, month = date(2026, 1, 5), date(2026, 1, 1)
    for region, count in ((district, 3), (state, 5)):
        for span, on in (("d", day), ("m", month)):
            for vaccine in ("COVISHIELD", "COVAXIN"):
                old.objects.create(
                    metric="first", span=span, day=on, region_id=region.pk, vaccine=vaccine,
                    count=count,
                )  # fmt: skip
        old.objects.create(
            metric="first", day=day, region_id=region.pk, vaccine="COVAXIN", dim="age",
            value="18-44", count=1,
        )  # fmt: skip
    old.objects.create(metric="aefi", day=day, region_id=district.pk, vaccine="COVAXIN", count=1)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps.get_model("dashboard", "Tally")
        rows = new.objects.values_list("span", "day", "region_id", "vaccine", "value", "count")
        # By the child each came through, for each vaccine and for all of them.
        assert set(rows.filter(metric="first", dim="region")) == {
            (span, on, region, vaccine, str(child), count * (2 if vaccine == "*" else 1))
            for span, on in (("d", day), ("m", month))
            for region, child, count in ((state.pk, district.pk, 3), (root, state.pk, 5))
            for vaccine in ("COVISHIELD", "COVAXIN", "*")
        }
        # Every tally summed over the vaccines.
        assert set(rows.filter(vaccine="*").exclude(dim="region")) == {
            ("d", day, district.pk, "*", "", 6),
            ("m", month, district.pk, "*", "", 6),
            ("d", day, state.pk, "*", "", 10),
            ("m", month, state.pk, "*", "", 10),
            ("d", day, district.pk, "*", "18-44", 1),
            ("d", day, state.pk, "*", "18-44", 1),
            ("d", day, district.pk, "*", "", 1),  # the AEFI report
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
