"""Upgrading a deployment: the days already counted gain their months and years."""

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
