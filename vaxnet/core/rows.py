"""Models from hand-written SQL, for the few hot reads where building the query costs more
CPU than running it: the columns to select, and the rows turned into models as the ORM would.
"""

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

# A model and the alias its table has in the statement.
Table = tuple[type[models.Model], str]


def columns(tables: Sequence[Table]) -> str:
    """Return the select list of every concrete field of the tables, in model field order."""
    quote = connection.ops.quote_name
    return ", ".join(
        f"{alias}.{quote(field.column)}"
        for model, alias in tables
        for field in model._meta.concrete_fields
    )


def model_from_row(model: type[M], row: Sequence[Any], alias: str = "") -> M:
    """Return the model made from a row of its concrete fields' columns, as the ORM makes it.

    Each value goes through the converters the ORM would apply (SQLite's dates and
    booleans, JSON), then `Model.from_db`.
    """
    fields: Sequence[Any] = model._meta.concrete_fields
    values = []
    for field, value in zip(fields, row, strict=True):
        if value is not None:
            col = field.get_col(alias or model._meta.db_table)
            converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            for converter in converters:
                value = converter(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], values)


def models_from_row(tables: Sequence[Table], row: Sequence[Any]) -> list[models.Model]:
    """Split a row selected with `columns(tables)` into one model per table."""
    made = []
    start = 0
    for model, alias in tables:
        end = start + len(model._meta.concrete_fields)
        made.append(model_from_row(model, row[start:end], alias))
        start = end
    return made
