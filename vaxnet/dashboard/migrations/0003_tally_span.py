"""Tallies also kept per month and per year (`Tally.span`), filled in from the days kept.

Sums over a long range of days, or everything up to a day, then read a few dozen rows
instead of one row per day. On PostgreSQL the unique index carries the count again.
"""

from collections.abc import Callable

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Sum
from django.db.models.functions import TruncMonth, TruncYear

COLUMNS = '"metric", "region_id", "span", "dim", "day", "vaccine", "value"'
# Hours of the day are kept per day only.
DAY_ONLY_DIMS = ("hour",)


def _covering(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("dashboard", "Tally")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT tally_unique_cell")
    schema_editor.execute(
        f'ALTER TABLE {table} ADD CONSTRAINT tally_unique_cell UNIQUE ({COLUMNS}) INCLUDE ("count")'
    )


def _periods(span: str, trunc: Callable[[str], object]) -> Callable[[StateApps, object], None]:
    def fill(apps: StateApps, schema_editor: object) -> None:
        tally = apps.get_model("dashboard", "Tally")
        rows = (
            tally.objects.filter(span="d")
            .exclude(dim__in=DAY_ONLY_DIMS)
            .annotate(period=trunc("day"))
            .values_list("metric", "period", "region_id", "vaccine", "dim", "value")
            .annotate(n=Sum("count"))
            .order_by()
        )
        batch = []
        for metric, period, region, vaccine, dim, value, n in rows.iterator(chunk_size=2000):
            batch.append(
                tally(
                    metric=metric,
                    span=span,
                    day=period,
                    region_id=region,
                    vaccine=vaccine,
                    dim=dim,
                    value=value,
                    count=n,
                )
            )
            if len(batch) >= 2000:
                tally.objects.bulk_create(batch)
                batch = []
        tally.objects.bulk_create(batch)

    return fill


def _forget_periods(apps: StateApps, schema_editor: object) -> None:
    apps.get_model("dashboard", "Tally").objects.exclude(span="d").delete()


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_tally_covering_index")]

    operations = [
        migrations.AddField(
            model_name="tally",
            name="span",
            field=models.CharField(
                choices=[("d", "day"), ("m", "month"), ("y", "year")],
                default="d",
                max_length=1,
                verbose_name="span",
            ),
        ),
        migrations.RemoveConstraint(model_name="tally", name="tally_unique_cell"),
        migrations.AddConstraint(
            model_name="tally",
            constraint=models.UniqueConstraint(
                fields=("metric", "region", "span", "dim", "day", "vaccine", "value"),
                name="tally_unique_cell",
            ),
        ),
        migrations.RunPython(_covering, migrations.RunPython.noop),
        migrations.RunPython(_periods("m", TruncMonth), _forget_periods),
        migrations.RunPython(_periods("y", TruncYear), migrations.RunPython.noop),
    ]
