"""Kept PDFs are deflated already: PostgreSQL stores them out of line without compressing.

Its default for bytea (EXTENDED) tries pglz on every insert and gives up on a deflated PDF
after spending the CPU; EXTERNAL skips the attempt. SQLite has no such setting.
"""

from collections.abc import Callable

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def _storage(mode: str) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def change(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            table = apps.get_model("certificates", "CertificateDocument")._meta.db_table
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(table)} "
                f"ALTER COLUMN {schema_editor.quote_name('pdf')} SET STORAGE {mode}"
            )

    return change


class Migration(migrations.Migration):
    dependencies = [("certificates", "0001_initial")]

    operations = [migrations.RunPython(_storage("EXTERNAL"), _storage("EXTENDED"))]
