"""On PostgreSQL the tallies' unique index also carries the count (INCLUDE).

Every dashboard read sums counts over one region's days: with the count in the index, those
are index-only scans instead of a visit to the table for each row. SQLite has no such index.
"""

from collections.abc import Callable

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

COLUMNS = '"metric", "region_id", "day", "vaccine", "dim", "value"'


def _unique(include: str) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def change(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("dashboard", "Tally")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT tally_unique_cell")
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT tally_unique_cell UNIQUE ({COLUMNS}){include}"
        )

    return change


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_initial")]

    operations = [migrations.RunPython(_unique(' INCLUDE ("count")'), _unique(""))]
