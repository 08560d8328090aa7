"""Hand-written SQL for the few hot reads and inserts where building the query costs more CPU
than running it: the columns to select, the rows turned into models as the ORM would, and a
model's INSERT built once.

What each statement needs from a model (its columns, the converters of its values) is worked
out on first use and kept per model and database vendor: models do not change while the
process runs.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, models, transaction
from django.db.models import signals
from django.db.models.constants import OnConflict
from django.db.models.expressions import Col

M = TypeVar("M", bound=models.Model)

# A model and the alias its table has in the statement.
Table = tuple[type[models.Model], str]

Converter = Callable[[Any, Any, Any], Any]
# Where a value sits in the row, its column, and what turns the database's value into Python's.
Converting = tuple[tuple[int, Col, tuple[Converter, ...]], ...]

_columns: dict[tuple[tuple[Table, ...], str], str] = {}
_reads: dict[tuple[type[models.Model], str, str], tuple[list[str], Converting]] = {}
_inserts: dict[tuple[type[models.Model], str, bool, bool], "_Insert"] = {}


def _connection() -> Any:
    # The thread's own connection, once per call, rather than through the proxy per use.
    return connections[DEFAULT_DB_ALIAS]


def columns(tables: Sequence[Table]) -> str:
    """Return the select list of every concrete field of the tables, in model field order."""
    db = _connection()
    key = (tuple(tables), db.vendor)
    found = _columns.get(key)
    if found is None:
        quote = db.ops.quote_name
        found = _columns[key] = ", ".join(
            f"{alias}.{quote(field.column)}"
            for model, alias in tables
            for field in model._meta.concrete_fields
        )
    return found


def _converting(db: Any, cols: Sequence[Col]) -> Converting:
    """Return the converters the ORM applies to these columns' values, for those that have any."""
    # They depend on the database's settings (its vendor, time zone), not on which thread's
    # connection made them: one list serves every thread.
    found = []
    for index, col in enumerate(cols):
        converters = db.ops.get_db_converters(col) + col.get_db_converters(db)
        if converters:
            found.append((index, col, tuple(converters)))
    return tuple(found)


def _convert(db: Any, converting: Converting, row: Sequence[Any]) -> list[Any]:
    """Return the row's values as Python's, each non-null one through its column's converters."""
    values = list(row)
    for index, col, converters in converting:
        value = values[index]
        if value is not None:
            for converter in converters:
                value = converter(value, col, db)
            values[index] = value
    return values


def model_from_row(model: type[M], row: Sequence[Any], alias: str = "") -> M:
    """Return the model made from a row of its concrete fields' columns, as the ORM makes it.

    Each value goes through the converters the ORM would apply (SQLite's dates and
    booleans, JSON), then `Model.from_db`.
    """
    db = _connection()
    key = (model, alias, db.vendor)
    read = _reads.get(key)
    if read is None:
        fields = model._meta.concrete_fields
        table = alias or model._meta.db_table
        read = _reads[key] = (
            [field.attname for field in fields],
            _converting(db, [field.get_col(table) for field in fields]),
        )
    attnames, converting = read
    if len(row) != len(attnames):
        raise ValueError(f"{model.__name__} has {len(attnames)} columns, the row {len(row)}.")
    return model.from_db(db.alias, attnames, _convert(db, converting, row))


def models_from_row(tables: Sequence[Table], row: Sequence[Any]) -> list[models.Model]:
    """Split a row selected with `columns(tables)` into one model per table."""
    made = []
    start = 0
    for model, alias in tables:
        end = start + len(model._meta.concrete_fields)
        made.append(model_from_row(model, row[start:end], alias))
        start = end
    return made


class _Insert:
    """A model's INSERT statement with placeholders, and what to do with what it returns."""

    def __init__(self, db: Any, model: type[models.Model], pk_set: bool, ignore: bool) -> None:
        meta = model._meta
        ops = db.ops
        self.fields = [
            field
            for field in meta.local_concrete_fields
            if not field.generated and (pk_set or field is not meta.auto_field)
        ]
        self.returning = list(meta.db_returning_fields)
        quote = ops.quote_name
        on_conflict = OnConflict.IGNORE if ignore else None
        sql = (
            f"{ops.insert_statement(on_conflict=on_conflict)} {quote(meta.db_table)} "
            f"({', '.join(quote(field.column) for field in self.fields)}) "
            f"VALUES ({', '.join(['%s'] * len(self.fields))})"
        )
        if ignore:
            # PostgreSQL's ON CONFLICT DO NOTHING; SQLite's is the INSERT OR IGNORE above.
            suffix = ops.on_conflict_suffix_sql(self.fields, on_conflict, None, None)
            sql = f"{sql} {suffix}" if suffix else sql
        self.returning_params: Any = ()
        self.last_insert_id = False
        if self.returning and db.features.can_return_columns_from_insert:
            returning_sql, self.returning_params = ops.return_insert_columns(self.returning)
            sql = f"{sql} {returning_sql}"
        elif self.returning and isinstance(self.returning[0], models.AutoField):
            # Without RETURNING, the ORM reads back only an auto field, as the last id.
            self.returning = self.returning[:1]
            self.last_insert_id = True
        else:
            self.returning = []
        self.sql = sql
        self.converting = _converting(
            db, [field.get_col(meta.db_table) for field in self.returning]
        )


@functools.cache
def _saves_more(model: type[models.Model]) -> bool:
    """Return whether saving the model takes more than one INSERT of its own fields."""
    meta = model._meta
    return bool(
        meta.proxy
        or meta.parents
        or meta.order_with_respect_to
        or getattr(meta, "is_composite_pk", False)
        or any(getattr(field, "get_placeholder", None) for field in meta.local_concrete_fields)
    )


def _inserts_as_the_orm_does(model: type[models.Model]) -> bool:
    """Return whether only the ORM's save inserts the model as it should (see insert_returning)."""
    return (
        _saves_more(model)
        or signals.pre_save.has_listeners(model)
        or signals.post_save.has_listeners(model)
    )


def insert_returning(obj: models.Model, *, ignore_conflicts: bool = False) -> Any:
    """Insert a new model as `obj.save(force_insert=True)` would, and return its primary key.

    The same values reach the database (defaults, `pre_save` hooks such as auto_now, then
    `get_db_prep_save`) and the same fields are read back onto the model, which is saved
    afterwards (not adding, on its database). The statement is built once per model; a
    model whose save does more (inheritance, signal receivers, expressions as values) is
    saved by the ORM.

    With `ignore_conflicts`, a row that would break a unique constraint is not inserted
    and None is returned, the model left unsaved: one statement (`ON CONFLICT DO NOTHING`,
    SQLite's `INSERT OR IGNORE`) that leaves the caller's transaction usable, without a
    savepoint (the ORM's way, with one, where the database cannot say what it inserted).
    """
    model = type(obj)
    meta = model._meta
    db = _connection()
    orm_only = _inserts_as_the_orm_does(model)
    if ignore_conflicts and (orm_only or not db.features.can_return_columns_from_insert):
        try:
            with transaction.atomic(using=db.alias):
                obj.save(force_insert=True, using=db.alias)
        except IntegrityError:
            return None
        return obj.pk
    if orm_only:
        obj.save(force_insert=True, using=db.alias)
        return obj.pk
    # What Model.save does before its INSERT: related objects saved first, then the primary key.
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    pk = meta.pk
    if not obj._is_pk_set(meta):  # type: ignore[attr-defined]
        setattr(obj, pk.attname, pk.get_pk_value_on_save(obj))  # type: ignore[attr-defined]
    pk_set = obj._is_pk_set(meta)  # type: ignore[attr-defined]
    key = (model, db.vendor, pk_set, ignore_conflicts)
    insert = _inserts.get(key)
    if insert is None:
        insert = _inserts[key] = _Insert(db, model, pk_set, ignore_conflicts)
    values = []
    for field in insert.fields:
        value = field.pre_save(obj, add=True)
        if hasattr(value, "resolve_expression"):
            if ignore_conflicts:
                raise ValueError("An expression cannot be inserted with ignore_conflicts.")
            obj.save(force_insert=True, using=db.alias)
            return obj.pk
        values.append(field.get_db_prep_save(value, connection=db))
    with transaction.mark_for_rollback_on_error(using=db.alias), db.cursor() as cursor:
        cursor.execute(insert.sql, values)
        if insert.last_insert_id:
            column = insert.returning[0].column
            returned = [db.ops.last_insert_id(cursor, meta.db_table, column)]
        elif insert.returning:
            row = db.ops.fetch_returned_insert_columns(cursor, insert.returning_params)
            if row is None:  # a conflict, ignored
                return None
            returned = list(row)
        else:
            returned = []
    for field, value in zip(
        insert.returning, _convert(db, insert.converting, returned), strict=True
    ):
        setattr(obj, field.attname, value)
    obj._state.db = db.alias
    obj._state.adding = False
    return obj.pk
