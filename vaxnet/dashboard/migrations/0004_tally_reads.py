"""Tallies kept in the shapes the dashboard reads: by child region, for all vaccines.

- Each region's totals of doses, first doses, primary series and boosters gain the
  breakdown "region" (the child's id), so the drill-down reads every child's numbers from
  its parent's tallies. Filled in from the children's own totals: exactly what came
  through them.
- Every tally is also kept for all vaccines together (vaccine "*"), so a view of all
  vaccines reads one row where it read one per vaccine. Filled in by summing the vaccines.
- The unique index runs vaccine before day, so one vaccine's (or all vaccines') range of
  days is one range of it.

Run it with no fold running, old code or new, or rebuild the tallies once every process
runs the new code: see docs/operations.md.
"""

from collections.abc import Callable
from typing import Any

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

BY_CHILD_METRICS = ("doses", "first", "complete", "booster")
ALL_VACCINES = "*"


def _names(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> tuple[str, str]:
    tally = schema_editor.quote_name(apps.get_model("dashboard", "Tally")._meta.db_table)
    region = schema_editor.quote_name(apps.get_model("geo", "Region")._meta.db_table)
    return tally, region


def _by_child(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    tally, region = _names(apps, schema_editor)
    metrics = ", ".join(f"'{metric}'" for metric in BY_CHILD_METRICS)
    schema_editor.execute(
        f"INSERT INTO {tally} "  # noqa: S608 (names and constants, not values)
        '("metric", "span", "day", "region_id", "vaccine", "dim", "value", "count") '
        "SELECT t.metric, t.span, t.day, r.parent_id, t.vaccine, 'region', "
        "CAST(t.region_id AS VARCHAR(20)), t.count "
        f"FROM {tally} AS t JOIN {region} AS r ON r.id = t.region_id "
        f"WHERE t.dim = '' AND t.metric IN ({metrics}) AND r.parent_id IS NOT NULL"
    )


def _all_vaccines(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    tally, _region = _names(apps, schema_editor)
    schema_editor.execute(
        f"INSERT INTO {tally} "  # noqa: S608 (names and constants, not values)
        '("metric", "span", "day", "region_id", "vaccine", "dim", "value", "count") '
        f"SELECT metric, span, day, region_id, '{ALL_VACCINES}', dim, value, SUM(count) "
        f"FROM {tally} GROUP BY metric, span, day, region_id, dim, value"
    )


def _forget(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    tally = apps.get_model("dashboard", "Tally")
    tally.objects.filter(models.Q(dim="region") | models.Q(vaccine=ALL_VACCINES)).delete()


def _checked_now(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Check the new rows' foreign keys now: PostgreSQL alters no table with checks pending."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _unique(fields: tuple[str, ...]) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=fields, name="tally_unique_cell")


def _index(old: tuple[str, ...], new: tuple[str, ...]) -> Callable[[StateApps, Any], None]:
    """Return the step that replaces the unique index on old columns by one on new columns.

    On PostgreSQL in one statement, the index carrying the count, so reads need not visit
    the table: built once, not once plain and again covering.
    """

    def replace(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model = apps.get_model("dashboard", "Tally")
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.remove_constraint(model, _unique(old))
            schema_editor.add_constraint(model, _unique(new))
            return
        table = schema_editor.quote_name(model._meta.db_table)
        columns = ", ".join(
            schema_editor.quote_name("region_id" if name == "region" else name) for name in new
        )
        schema_editor.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT tally_unique_cell, "
            f'ADD CONSTRAINT tally_unique_cell UNIQUE ({columns}) INCLUDE ("count")'
        )

    return replace


BEFORE = ("metric", "region", "span", "dim", "day", "vaccine", "value")
AFTER = ("metric", "region", "span", "dim", "vaccine", "day", "value")


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0003_tally_span"), ("geo", "0001_initial")]

    operations = [
        migrations.RunPython(_by_child, _forget),
        migrations.RunPython(_all_vaccines, migrations.RunPython.noop),
        migrations.RunPython(_checked_now, _checked_now),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="tally", name="tally_unique_cell"),
                migrations.AddConstraint(model_name="tally", constraint=_unique(AFTER)),
            ],
            database_operations=[
                migrations.RunPython(_index(BEFORE, AFTER), _index(AFTER, BEFORE)),
            ],
        ),
    ]
