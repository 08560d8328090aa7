"""Keeping the tallies: facts written with each change, folded in, or all rebuilt.

`people_tallied` runs in the transaction of anything that changes what a person counts for
(a dose recorded or entered in error, a merge or its undoing, a correction of the birth date
or sex): it works out the person's facts from their records as they now stand and writes
the difference from what they counted for before. `facts_tallied` writes facts that are
plain events (a session planned, an AEFI reported, a stock move). Neither touches `Tally`:
`tallies_fold` adds the written changes up, every few seconds (`vaxnet rollups fold`, the
Celery beat task, or the dashboard itself when its numbers are older than FOLD_EVERY).
`tallies_rebuild` counts everything again from the records.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from vaxnet.booking.models import Appointment, Session
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.dashboard.facts import (
    DOSE_FIELDS,
    PERSON_FIELDS,
    Cell,
    Fact,
    age_bands,
    counted,
    dose_of,
    kept,
    lifted,
    load_people,
    people_facts,
    person_of,
    places,
    primary_doses,
    tallies_of,
    valid_doses,
)
from vaxnet.dashboard.models import PersonTally, Tally, TallyChange, TallyState
from vaxnet.dashboard.queries import as_of, folded_seen
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import StockMove
from vaxnet.vaccination.models import Aefi, Vaccination

# The dashboard folds pending changes itself when its numbers are older than this.
FOLD_EVERY = timedelta(seconds=10)
# Changes claimed by one fold: bounded, so that a backlog is folded in steps.
FOLD_BATCH = 20000
# Cells added to the tallies by one statement (PostgreSQL).
ADD_CHUNK = 10000
# Rows a statement writes at most (SQLite allows 32,766 parameters).
CHUNK = 1000
# People whose facts a rebuild works out at a time.
REBUILD_PEOPLE = 5000


# Writing changes.


def _write(changes: list[list[Any]], at: datetime | None = None) -> None:
    if changes:
        TallyChange.objects.create(facts=changes, at=at or timezone.now())


def facts_tallied(facts: Iterable[Fact], *, change: int = 1) -> None:
    """Write facts to add to the tallies (or, with change -1, to take away)."""
    _write([[list(fact), change] for fact in facts])


def people_tallied(pks: Iterable[int]) -> None:
    """Bring what these registrations count for up to date with their records.

    Call it inside the transaction that changed them, after the change, with the person's row
    held (the recording and merging services hold it): two changes to one person then follow
    each other, and each writes the difference from what the other left.
    """
    country = active_country()
    wanted = set(pks)
    if country is None or not wanted:
        return
    people = load_people(wanted)
    owners = {person.owner for person in people.values()}
    doses = valid_doses(pk for pk, person in people.items() if person.owner in owners)
    series = primary_doses({dose.vaccine_id for dose in doses})
    new = people_facts(people, doses, age_bands(country), series)
    for gone in wanted - people.keys():
        new[gone] = []  # removed: what it counted for is taken away
    old = dict(PersonTally.objects.filter(pk__in=list(new)).values_list("pk", "facts"))
    difference: Counter[tuple[Any, ...]] = Counter()
    changed: list[PersonTally] = []
    for pk, facts in new.items():
        before = [tuple(fact) for fact in old.get(pk, [])]
        if before == facts:
            continue
        difference.update(facts)
        difference.subtract(before)
        changed.append(PersonTally(beneficiary_id=pk, facts=[list(f) for f in facts]))
    if not changed:
        return
    PersonTally.objects.bulk_create(
        changed, update_conflicts=True, unique_fields=["beneficiary_id"], update_fields=["facts"]
    )
    _write([[list(fact), n] for fact, n in sorted(difference.items()) if n])


# Folding changes into the tallies.


def tallies_fold(*, limit: int = FOLD_BATCH) -> int:
    """Fold up to `limit` pending changes into the tallies; return how many were folded.

    The changes are claimed by deleting them (DELETE … RETURNING), so that two folds at once
    never count one change twice, and added to the tallies in the same transaction.
    """
    country = active_country()
    if country is None:
        return 0
    where = places(country)
    table = connection.ops.quote_name(TallyChange._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN "  # noqa: S608 (names, not values)
                f"(SELECT id FROM {table} ORDER BY id LIMIT %s) RETURNING facts",
                [limit],
            )
            rows = cursor.fetchall()
        # JSON comes back as text from a raw cursor (Django decodes it for models only).
        pending = [json.loads(r[0]) if isinstance(r[0], str | bytes) else r[0] for r in rows]
        total = tallies_of(((fact, change) for facts in pending for fact, change in facts), where)
        _add(total)
        TallyState.objects.update_or_create(pk=1, defaults={"folded_at": timezone.now()})
    return len(rows)


def tallies_fold_all() -> int:
    """Fold every pending change; return how many."""
    folded = 0
    while True:
        done = tallies_fold()
        folded += done
        if done < FOLD_BATCH:
            return folded


def fold_if_stale(now: datetime | None = None) -> datetime | None:
    """Fold pending changes when the tallies were last folded more than FOLD_EVERY ago.

    Return when the tallies were last folded, as far as this process knows: the database
    is asked only once what the process last saw is FOLD_EVERY old.
    """
    now = now or timezone.now()
    seen = folded_seen()
    if seen is not None and now - seen < FOLD_EVERY:
        return seen
    state = as_of()
    if state is not None and now - state < FOLD_EVERY:
        return state
    # Even with nothing pending: the fold's time says the numbers are current as of now.
    tallies_fold_all()
    return as_of()


def _add(total: Counter[Cell]) -> None:
    """Add amounts to the tallies (days, months, years), making the rows not there yet.

    In one order (the cells sorted), so that two folds at once take their rows' locks in
    the same order and one waits for the other instead of deadlocking.
    """
    cells = sorted(kept(total).items())
    if not cells:
        return
    table = connection.ops.quote_name(Tally._meta.db_table)
    columns = "metric, span, day, region_id, vaccine, dim, value, count"
    upsert = (
        "ON CONFLICT (metric, region_id, span, dim, vaccine, day, value) "
        f"DO UPDATE SET count = {table}.count + excluded.count"
    )
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # One statement run for each cell: a multi-row statement of thousands of
            # parameters costs more to bind than to run.
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 8)}) {upsert}",  # noqa: S608
                [(*cell, n) for cell, n in cells],
            )
            return
        # PostgreSQL: the cells as eight arrays, a statement for each ADD_CHUNK of them; a
        # statement run for each cell cost more in running statements than in the rows.
        for start in range(0, len(cells), ADD_CHUNK):
            chunk = cells[start : start + ADD_CHUNK]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest("  # noqa: S608
                "%s::varchar[], %s::varchar[], %s::date[], %s::bigint[], %s::varchar[], "
                f"%s::varchar[], %s::varchar[], %s::bigint[]) {upsert}",
                [list(column) for column in zip(*((*cell, n) for cell, n in chunk), strict=True)],
            )


# Rebuilding from the records.


def tallies_rebuild() -> dict[str, int]:
    """Count every tally again from the records; return how many facts of each kind.

    One transaction; on PostgreSQL the people's tallies and the pending changes are locked
    for it, so that doses recorded meanwhile wait for it and then count from what it left.
    """
    country = active_country()
    if country is None:
        return {}
    where = places(country)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            names = ", ".join(
                connection.ops.quote_name(m._meta.db_table) for m in (PersonTally, TallyChange)
            )
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
        TallyChange.objects.all().delete()
        PersonTally.objects.all().delete()
        Tally.objects.all().delete()
        kinds: Counter[str] = Counter()
        # Counted in each fact's own region, lifted to the regions above once at the end.
        total: Counter[Cell] = Counter()
        for facts in _event_facts(country):
            kinds.update(fact[0] for fact in facts)
            total.update(counted(((fact, 1) for fact in facts), where.root))
        for batch in _people_batches(country):
            _insert(
                PersonTally,
                ("beneficiary_id", "facts"),
                [(pk, json.dumps(facts)) for pk, facts in batch.items()],
            )
            facts_all = Counter(fact for facts in batch.values() for fact in facts)
            for fact, n in facts_all.items():
                kinds[fact[0]] += n
            total.update(counted(facts_all.items(), where.root))
        _insert(
            Tally,
            ("metric", "span", "day", "region_id", "vaccine", "dim", "value", "count"),
            [(*cell, n) for cell, n in sorted(kept(lifted(total, where)).items())],
        )
        now = timezone.now()
        TallyState.objects.update_or_create(pk=1, defaults={"folded_at": now, "rebuilt_at": now})
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Rows written in bulk are not yet known visible to all: vacuumed, the dashboard's
        # reads come from the index alone, and the planner knows the new tables' sizes.
        names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (Tally, PersonTally))
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {names}")
    return dict(kinds)


def _insert(model: type[Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Write many new rows: COPY on PostgreSQL, one statement run for each row on SQLite.

    (A multi-row INSERT of thousands of parameters costs more to bind than to run.)
    """
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _people_batches(country: Country) -> Iterator[dict[int, list[Fact]]]:
    """Yield every registration's facts, a few thousand registrations at a time.

    A batch is a range of ids, read with range conditions (not lists of ids), with the
    registrations merged into its people from outside the range: their doses count with them.
    """
    bands = age_bands(country)
    everyone = Beneficiary.objects.filter(country=country).order_by("pk")
    doses = Vaccination.objects.filter(status=Vaccination.Status.VALID).order_by()
    last = 0
    while True:
        rows = list(everyone.filter(pk__gt=last).values_list(*PERSON_FIELDS)[:REBUILD_PEOPLE])
        if not rows:
            return
        low, last = last, rows[-1][0]
        outside = list(
            everyone.filter(merged_into_id__gt=low, merged_into_id__lte=last)
            .exclude(pk__gt=low, pk__lte=last)
            .values_list(*PERSON_FIELDS)
        )
        people = {row[0]: person_of(row) for row in rows + outside}
        given = [
            dose_of(row)
            for row in doses.filter(beneficiary_id__gt=low, beneficiary_id__lte=last)
            .values_list(*DOSE_FIELDS)
            .iterator(chunk_size=CHUNK)
        ]
        if outside:
            given += valid_doses(pk for pk, *_rest in outside)
        series = primary_doses({dose.vaccine_id for dose in given})
        facts = people_facts(people, given, bands, series)
        yield {pk: facts[pk] for pk, *_rest in rows}


def _local_day(at: datetime) -> str:
    return timezone.localdate(at).isoformat()


def _event_facts(country: Country) -> Iterator[list[Fact]]:
    """Yield the facts of sessions, AEFI reports, stock moves, bookings and cancellations."""
    yield _sessions_facts(Session.objects.filter(facility__country=country))
    yield _aefis_facts(Aefi.objects.filter(facility__country=country))
    yield _moves_facts(StockMove.objects.filter(store__region__country=country))
    yield _appointments_facts(Appointment.objects.filter(session__facility__country=country))


def _sessions_facts(rows: QuerySet[Session]) -> list[Fact]:
    return [
        session_fact(day, region, vaccine, status)
        for day, region, vaccine, status in rows.order_by()
        .values_list("date", "facility__region_id", "vaccine__code", "status")
        .iterator(chunk_size=CHUNK)
    ]


def _aefis_facts(rows: QuerySet[Aefi]) -> list[Fact]:
    fields = ("reported_at", "facility__region_id", "vaccination__vaccine__code", "severity")
    return [
        aefi_fact(reported_at, region, vaccine, severity)
        for reported_at, region, vaccine, severity in rows.order_by()
        .values_list(*fields)
        .iterator(chunk_size=CHUNK)
    ]


def _moves_facts(rows: QuerySet[StockMove]) -> list[Fact]:
    fields = ("at", "store__region_id", "batch__vaccine__code", "kind", "reason", "doses")
    return [
        stock_fact(at, region, vaccine, kind, reason, doses)
        for at, region, vaccine, kind, reason, doses in rows.order_by()
        .values_list(*fields)
        .iterator(chunk_size=CHUNK)
    ]


def _appointments_facts(rows: QuerySet[Appointment]) -> list[Fact]:
    """Return each appointment's booking fact, and its cancellation's if it was cancelled."""
    fields = (
        "created_at",
        "cancelled_at",
        "status",
        "session__facility__region_id",
        "session__vaccine__code",
        "dose_number",
    )
    facts: list[Fact] = []
    for created_at, cancelled_at, status, region, vaccine, number in (
        rows.order_by().values_list(*fields).iterator(chunk_size=CHUNK)
    ):
        facts.append(booking_fact(created_at, region, vaccine, number))
        if status == Appointment.Status.CANCELLED and cancelled_at is not None:
            facts.append(cancellation_fact(cancelled_at, region, vaccine))
    return facts


# The facts of events, as their services write them.


def session_fact(day: date, region: int, vaccine: str, status: str) -> Fact:
    return ("session", day.isoformat(), region, vaccine, status)


def aefi_fact(reported_at: datetime, region: int, vaccine: str, severity: str) -> Fact:
    return ("aefi", _local_day(reported_at), region, vaccine or "", severity)


def stock_fact(at: datetime, region: int, vaccine: str, kind: str, reason: str, doses: int) -> Fact:
    if kind == StockMove.Kind.WASTAGE:
        kind = "wastage_open" if reason == StockMove.Reason.OPEN_VIAL else "wastage_closed"
    return ("stock", _local_day(at), region, vaccine, kind, doses)


def booking_fact(created_at: datetime, region: int, vaccine: str, number: int) -> Fact:
    return ("booking", _local_day(created_at), region, vaccine, number)


def cancellation_fact(cancelled_at: datetime, region: int, vaccine: str) -> Fact:
    return ("cancellation", _local_day(cancelled_at), region, vaccine)


# The facts of events, read from their records as the rebuild reads them, for the services
# that make or change those records (in their own transaction).


def _served_code() -> str:
    """Return the code of the country this deployment serves (the one `_country` reads)."""
    return str(settings.VAXNET_COUNTRY)


def _served(path: str) -> Q:
    """Return the condition for rows of the country this deployment serves, as rebuilt."""
    return Q(**{f"{path}__country__code": _served_code()})


def facts_replaced(before: Iterable[Fact], after: Iterable[Fact]) -> None:
    """Write the change from the facts counted before to those counted now (if any)."""
    difference: Counter[Fact] = Counter(after)
    difference.subtract(before)
    _write([[list(fact), n] for fact, n in sorted(difference.items()) if n])


def session_facts(pks: Iterable[int], *, appointments: bool = False) -> list[Fact]:
    """Return the facts of these sessions (and, asked for, of their appointments)."""
    wanted = list(pks)
    found = _sessions_facts(Session.objects.filter(_served("facility"), pk__in=wanted))
    if appointments:
        found += _appointments_facts(
            Appointment.objects.filter(_served("session__facility"), session_id__in=wanted)
        )
    return found


def session_status_changed(pk: int, before: str) -> None:
    """Move a session's fact from the status it had to the one it has now."""
    now = session_facts([pk])
    facts_replaced([(*fact[:-1], before) for fact in now], now)


def aefi_facts(pks: Iterable[int], *, hold: bool = False) -> list[Fact]:
    """Return the facts of these AEFI reports; with `hold`, lock them until the commit."""
    rows = Aefi.objects.filter(_served("facility"), pk__in=list(pks))
    if hold:
        rows = rows.select_for_update(of=("self",))
    return _aefis_facts(rows)


def move_facts(pks: Iterable[int]) -> list[Fact]:
    """Return the facts of these stock moves."""
    return _moves_facts(StockMove.objects.filter(_served("store__region"), pk__in=list(pks)))


def appointment_facts(pks: Iterable[int]) -> list[Fact]:
    """Return the facts of these appointments: their booking, and their cancellation if any."""
    return _appointments_facts(
        Appointment.objects.filter(_served("session__facility"), pk__in=list(pks))
    )


def cancellation_facts(pks: Iterable[int]) -> list[Fact]:
    """Return the cancellation facts of these appointments (of those cancelled)."""
    return [fact for fact in appointment_facts(pks) if fact[0] == "cancellation"]


def bookings_tallied(session: Session, appointments: Iterable[Appointment]) -> None:
    """Write the booking facts of appointments just made in a session, from the objects."""
    # No query: the busiest write passes its session read with its centre, country and vaccine.
    if session.facility.country.code != _served_code():
        return
    region, vaccine = session.facility.region_id, session.vaccine.code
    facts_tallied(booking_fact(a.created_at, region, vaccine, a.dose_number) for a in appointments)
