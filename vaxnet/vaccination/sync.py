"""Offline devices' batches of doses: each record judged on its own, replays answered as before.

A device records doses while offline and sends them later, up to 500 at once. Each item
gets its own answer, kept as a SyncItem under the device's client id in the same
transaction as what it wrote: a replayed item answers exactly what it answered first and
changes nothing. An item is recorded (a Vaccination of source "offline", given at the
device's time, with everything `services.vaccination_record` does: the dose taken from the
session's vials, the appointment, the audit event, the SMS, the hooks), a duplicate (that
dose of that person is already recorded, by this or another device: the existing record's
id), or a conflict (a code and a message; nothing written).

The batch is one transaction whose items cannot undo each other: every rule is checked
before anything is written, under row locks (the appointments and the session's stock
accounts of the batch, taken in id order), so an item that is refused writes nothing.
Reads are made for the whole batch in a few queries. The unique indexes stay the judges of
races the locks do not cover (the same person recorded through two different
appointments): the losing insert does nothing and the item answers duplicate.

A person named by reference without an appointment came to the session while the device
was offline: an on-site appointment is made for them. The dose was given, so it is never
refused for want of an on-site place: it is recorded and the answer flags it
(code "onsite_over_capacity").
"""

import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.constants import OnConflict
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.models import Appointment, Session, SessionDose
from vaxnet.core import context
from vaxnet.core.access import session_for_staff
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.core.rows import insert_returning
from vaxnet.dashboard.services import appointment_facts, facts_tallied
from vaxnet.notifications.kinds import KINDS
from vaxnet.notifications.models import Message
from vaxnet.notifications.render import mask_secrets, render_text
from vaxnet.notifications.services import _dispatch
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch, SessionStock
from vaxnet.stock.services import check_usable
from vaxnet.stock.sessions import session_doses_take
from vaxnet.vaccination import events
from vaxnet.vaccination.models import NotGiven, Site, SyncItem, Vaccination
from vaxnet.vaccination.roles import RECORDERS
from vaxnet.vaccines.eligibility import Eligible, Ineligible, PastDose, next_dose

MAX_ITEMS = 500
OUTCOMES = ("vaccinated", "refused", "deferred")
LIVE = (Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN)
# A device that worked offline gave the dose before the session was closed and its remaining
# bookings marked no-show: the dose was given, so it is recorded on that appointment.
RECORDABLE = (*LIVE, Appointment.Status.NO_SHOW)


@dataclass(frozen=True)
class Item:
    """One record of an offline device's batch."""

    client_id: uuid.UUID
    device_time: datetime
    session: str
    batch: str = ""
    site: str = ""
    outcome: str = "vaccinated"
    appointment: str = ""
    beneficiary: str = ""
    reason: str = ""
    note: str = ""
    expected_dose: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The answer to one item, as kept for replays."""

    client_id: uuid.UUID
    result: str
    code: str = ""
    message: str = ""
    record: str = ""
    dose_number: int | None = None

    @classmethod
    def of(cls, kept: SyncItem) -> "Outcome":
        """Return the answer kept for a client id."""
        return cls(
            kept.client_id, kept.result, kept.code, kept.message, kept.record, kept.dose_number
        )


@dataclass
class _Record:
    """A valid dose on record, as the batch's duplicate checks need it."""

    owner: int
    target: str
    dose_number: int
    given_on: date
    public_id: str
    appointment_id: int | None


@dataclass
class _Pending:
    """A dose judged recordable: its record and what to answer once it is written."""

    item: Item
    vaccination: Vaccination
    appointment: Appointment | None
    key: tuple[int, int]
    outcome: "Outcome"


class _Conflict(Exception):
    def __init__(self, code: str, message: Any) -> None:
        self.code = code
        self.message = message


def _refuse(error: DomainError) -> _Conflict:
    return _Conflict(error.code, error.message)


class _Batch:
    """What the batch's items need, read in a few queries, and what they take as they go."""

    def __init__(self, by: User, items: list[Item], now: datetime) -> None:
        self.by = by
        self.now = now
        self.sessions: dict[str, Session | None] = {}
        for public_id in sorted({item.session for item in items}):
            try:
                self.sessions[public_id] = session_for_staff(by, public_id, RECORDERS)
            except DomainError:
                self.sessions[public_id] = None
        found = [s for s in self.sessions.values() if s is not None]
        countries = {s.facility.country_id for s in found}
        session_ids = [s.pk for s in found]
        # Locked in id order, so that two batches touching the same rows queue, not deadlock.
        self.appointments = {
            a.public_id: a
            for a in Appointment.objects.select_for_update(of=("self",))
            .filter(public_id__in={i.appointment for i in items if i.appointment})
            .filter(session_id__in=session_ids)
            .select_related("beneficiary__account", "beneficiary__merged_into")
            .order_by("pk")
        }
        self.people = {
            b.reference: b
            for b in Beneficiary.objects.filter(
                reference__in={i.beneficiary for i in items if i.beneficiary and not i.appointment},
                country_id__in=countries,
            ).select_related("account", "merged_into")
        }
        # A person named by reference who holds a live appointment in the session uses it.
        self.live: dict[tuple[int, int], Appointment] = {}
        if self.people:
            for appointment in (
                Appointment.objects.select_for_update(of=("self",))
                .filter(beneficiary__in=self.people.values(), session_id__in=session_ids)
                .filter(status__in=LIVE)
                .order_by("pk")
            ):
                self.live[(appointment.beneficiary_id, appointment.session_id)] = appointment
        self.batches = {
            b.public_id: b
            for b in Batch.objects.filter(
                public_id__in={i.batch for i in items if i.batch}, vaccine__country_id__in=countries
            )
        }
        self.accounts = {
            (a.session_id, a.batch_id): a
            for a in SessionStock.objects.select_for_update()
            .filter(session_id__in=session_ids, batch__in=self.batches.values())
            .order_by("pk")
        }
        self.taken: dict[tuple[int, int], int] = defaultdict(int)
        self.usable: dict[tuple[int, date], DomainError | None] = {}
        people = [a.beneficiary for a in self.appointments.values()] + list(self.people.values())
        self.history: dict[int, list[PastDose]] = {p.pk: [] for p in people}
        self.records: dict[int, list[_Record]] = {p.pk: [] for p in people}
        self._read_records()
        self.vaccinated: list[int] = []
        self.walked_in: set[int] = set()
        # Records judged and waiting for the batch's one INSERT; records already inserted.
        self.pending: list[_Pending] = []
        self.inserted: list[_Pending] = []

    def _read_records(self) -> None:
        """Read the valid doses of everyone in the batch (a merged duplicate's count too)."""
        ids = list(self.history)
        if not ids:
            return
        # Two index lookups rather than one OR across a join, which would scan every record.
        merged = dict(
            Beneficiary.objects.filter(merged_into_id__in=ids).values_list("pk", "merged_into_id")
        )
        rows = (
            Vaccination.objects.filter(status=Vaccination.Status.VALID)
            .filter(beneficiary_id__in=[*ids, *merged])
            .values_list(
                "beneficiary_id",
                "vaccine__code",
                "target",
                "given_on",
                "dose_number",
                "public_id",
                "appointment_id",
            )
            .order_by("given_on", "id")
        )
        for person, code, target, given_on, number, public_id, appointment in rows:
            owner = person if person in self.history else merged[person]
            self.history[owner].append(PastDose(code, target, given_on))
            self.records[owner].append(
                _Record(owner, target, number, given_on, public_id, appointment)
            )

    def person_of(self, item: Item) -> Beneficiary | None:
        """Return the person the item is about, if known (to order the batch)."""
        if item.appointment:
            appointment = self.appointments.get(item.appointment)
            return appointment.beneficiary if appointment else None
        return self.people.get(item.beneficiary)

    def check_batch(self, batch: Batch, on: date) -> None:
        """Refuse a batch recalled, expired or discarded (read once per batch and day)."""
        key = (batch.pk, on)
        if key not in self.usable:
            try:
                check_usable(batch, on=on)
                self.usable[key] = None
            except DomainError as error:
                self.usable[key] = error
        refusal = self.usable[key]
        if refusal is not None:
            raise _refuse(refusal)


def vaccinations_sync(
    *, by: User, items: Iterable[Item], now: datetime | None = None
) -> list[Outcome]:
    """Record an offline device's batch: each item recorded, a duplicate or a conflict.

    Answers come in the order of the items; an item seen before answers as it did then.
    """
    now = now or timezone.now()
    items = list(items)
    if len(items) > MAX_ITEMS:
        raise DomainError(
            "sync_too_many",
            _("Send at most {count} records at once.").format(count=MAX_ITEMS),
            status=422,
        )
    answers: dict[uuid.UUID, Outcome] = {
        kept.client_id: Outcome.of(kept)
        for kept in SyncItem.objects.filter(client_id__in={i.client_id for i in items})
    }
    fresh: dict[uuid.UUID, Item] = {}
    for item in items:
        if item.client_id not in answers:
            fresh.setdefault(item.client_id, item)
    if fresh:
        with transaction.atomic():
            answers.update(_sync(by, list(fresh.values()), now))
    return [answers[item.client_id] for item in items]


def _sync(by: User, items: list[Item], now: datetime) -> dict[uuid.UUID, Outcome]:
    state = _Batch(by, items, now)
    # Read again under the batch's locks: a concurrent request with the same client ids may
    # have committed since the first look, and its answers stand.
    answers: dict[uuid.UUID, Outcome] = {
        kept.client_id: Outcome.of(kept)
        for kept in SyncItem.objects.filter(client_id__in=[i.client_id for i in items])
    }
    items = [item for item in items if item.client_id not in answers]

    def order(item: Item) -> tuple[int, datetime]:
        person = state.person_of(item)
        return (person.pk if person else 0, item.device_time)

    for item in sorted(items, key=order):
        try:
            answers[item.client_id] = _one(state, item)
        except _Conflict as conflict:
            answers[item.client_id] = Outcome(
                item.client_id, SyncItem.Result.CONFLICT, conflict.code, str(conflict.message)
            )
    lost = _write(state)
    # An item of this batch that repeated a record which then lost its race repeats the winner.
    winners = {state_record: outcome for state_record, outcome in lost.values()}
    for client_id, answer in list(answers.items()):
        if answer.result == SyncItem.Result.DUPLICATE and answer.record in winners:
            won = winners[answer.record]
            answers[client_id] = Outcome(
                client_id, won.result, record=won.record, dose_number=won.dose_number
            )
    for client_id, (_record, outcome) in lost.items():
        answers[client_id] = outcome
    _finish(state)
    _follow_up(state)
    if not items:
        return answers
    _insert_many(
        [
            SyncItem(
                client_id=item.client_id,
                by=by,
                received_at=now,
                device_time=item.device_time,
                result=answers[item.client_id].result,
                code=answers[item.client_id].code,
                message=answers[item.client_id].message[:300],
                record=answers[item.client_id].record,
                dose_number=answers[item.client_id].dose_number,
            )
            for item in items
        ],
        ignore_conflicts=True,
    )
    return answers


def _write(state: _Batch) -> dict[uuid.UUID, tuple[str, Outcome]]:
    """Insert the judged records in one statement; one that lost a race answers duplicate.

    Returns, for each record not inserted, the public id it was to have and its answer.
    """
    if not state.pending:
        return {}
    written = _insert_all([p.vaccination for p in state.pending])
    lost = {}
    for pending in state.pending:
        if pending.item.client_id in written:
            state.inserted.append(pending)
            if pending.appointment is not None:
                state.vaccinated.append(pending.appointment.pk)
        else:
            state.taken[pending.key] -= 1
            lost[pending.item.client_id] = (
                pending.vaccination.public_id,
                _lost_race(pending.item, pending.vaccination),
            )
    return lost


def _insert_all(records: list[Vaccination]) -> set[uuid.UUID]:
    """Insert the records with one statement, skipping any a unique index refuses.

    `INSERT … ON CONFLICT DO NOTHING RETURNING` (SQLite: `INSERT OR IGNORE … RETURNING`):
    a record whose dose or client id was recorded meanwhile, by a transaction this one then
    waits for, is not inserted and not returned. Returns the client ids inserted.
    """
    rows = _insert_many(records, returning=("client_id",), ignore_conflicts=True)
    returned = {uuid.UUID(str(client_id)): pk for pk, client_id in rows}
    for record in records:
        pk = returned.get(record.client_id)
        if pk is not None:
            record.pk = pk
            record._state.adding = False
            record._state.db = connection.alias
    return set(returned)


def _insert_many(
    objs: list[Any], *, returning: tuple[str, ...] = (), ignore_conflicts: bool = False
) -> list[tuple[Any, ...]]:
    """Insert new rows of one model in one statement; return their ids (and `returning`).

    The values are those `bulk_create` would write; the statement is built directly, which
    costs a fraction of the ORM's compiler for a batch's rows.
    """
    model = type(objs[0])
    meta = model._meta
    ops = connection.ops
    quote = ops.quote_name
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    rows_in = [
        [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in fields]
        for obj in objs
    ]
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    head = (
        f"{ops.insert_statement(on_conflict=on_conflict)} {quote(meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)})"
    )
    params: list[Any]
    if connection.vendor == "postgresql":
        # One array a column: a short statement that psycopg and PostgreSQL handle at once,
        # where a placeholder a value makes both parse a statement of thousands of them.
        types = [f.db_type(connection).split("(")[0] for f in fields]
        arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in types)
        sql = f"{head} SELECT * FROM UNNEST({arrays})"  # noqa: S608 (names from the model)
        params = [list(column) for column in zip(*rows_in, strict=True)]
    else:
        row = f"({', '.join(['%s'] * len(fields))})"
        sql = f"{head} VALUES {', '.join([row] * len(objs))}"
        params = [value for values in rows_in for value in values]
    suffix = ops.on_conflict_suffix_sql(fields, on_conflict, None, None)
    if suffix:
        sql = f"{sql} {suffix}"
    columns = [meta.pk.column, *(meta.get_field(name).column for name in returning)]
    sql = f"{sql} RETURNING {', '.join(quote(column) for column in columns)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [tuple(row) for row in cursor.fetchall()]
    if not ignore_conflicts:
        for obj, (pk, *_rest) in zip(objs, rows, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
    return rows


def _follow_up(state: _Batch) -> None:
    """Write what follows the doses recorded: audit events and SMS in bulk, then the hooks."""
    if not state.inserted:
        return
    ip = context.request_info().ip
    _insert_many(
        [
            AuditEvent(
                actor=state.by,
                actor_label=state.by.get_username(),
                action="vaccination.record",
                object_type=Vaccination._meta.label_lower,
                object_id=str(p.vaccination.pk),
                ip=ip,
                data={
                    "beneficiary": p.vaccination.beneficiary.reference,
                    "dose": p.vaccination.dose_number,
                    "batch": p.vaccination.batch.public_id,
                    "session": p.vaccination.session.public_id,
                    "source": Vaccination.Source.OFFLINE,
                },
            )
            for p in state.inserted
        ]
    )
    messages = [m for m in (_dose_message(p.vaccination) for p in state.inserted) if m]
    if messages:
        _insert_many(messages)
        ids = [message.pk for message in messages]
        transaction.on_commit(partial(_dispatch_all, ids), robust=True)
    events.doses_recorded([pending.vaccination for pending in state.inserted], at=state.now)


def _finish(state: _Batch) -> None:
    """Take the doses recorded from the sessions' vials and move the appointments on."""
    sessions = {s.pk: s for s in state.sessions.values() if s is not None}
    batches = {b.pk: b for b in state.batches.values()}
    for (session_id, batch_id), doses in sorted(state.taken.items()):
        session_doses_take(
            session=sessions[session_id],
            batch=batches[batch_id],
            doses=doses,
            by=state.by,
            at=state.now,
        )
    if state.vaccinated:
        changed = Appointment.objects.filter(pk__in=state.vaccinated, status__in=RECORDABLE).update(
            status=Appointment.Status.VACCINATED
        )
        if changed != len(state.vaccinated):  # pragma: no cover - the rows are locked
            raise DomainError("not_recordable", _("An appointment has just been recorded."))
    # The appointments made for people recorded without one (see _walk_in).
    walk_ins = [p.vaccination.appointment_id for p in state.inserted if p.appointment is None]
    facts_tallied(appointment_facts(pk for pk in walk_ins if pk is not None))
    for session_id in sorted(state.walked_in):
        availability_changed(sessions[session_id])


def _one(state: _Batch, item: Item) -> Outcome:
    """Judge one item and write it; a refusal raises _Conflict before anything is written."""
    session = state.sessions.get(item.session)
    if session is None:
        raise _refuse(DomainError("not_found", _("Not found.")))
    appointment = None
    if item.appointment:
        appointment = state.appointments.get(item.appointment)
        if appointment is None or appointment.session_id != session.pk:
            raise _refuse(DomainError("not_found", _("Not found.")))
        person = appointment.beneficiary
    else:
        found = state.people.get(item.beneficiary)
        if found is None:
            raise _Conflict("beneficiary_unknown", _("No person has this reference."))
        person = found
        appointment = state.live.get((person.pk, session.pk))
    if person.merged_into_id is not None:
        raise _Conflict(
            "beneficiary_merged",
            _("This registration was merged into reference {reference}: use that one.").format(
                reference=person.merged_into.reference if person.merged_into else ""
            ),
        )
    given_on = timezone.localdate(item.device_time)
    if item.outcome != "vaccinated":
        return _not_given(state, item, session, person, appointment, given_on)
    duplicate = _duplicate(state, item, session, person, appointment, given_on)
    if duplicate is not None:
        return Outcome(
            item.client_id,
            SyncItem.Result.DUPLICATE,
            record=duplicate.public_id,
            dose_number=duplicate.dose_number,
        )
    if appointment is not None and appointment.status not in RECORDABLE:
        raise _Conflict(
            "not_recordable",
            _("This appointment is {status}: no dose can be recorded on it.").format(
                status=appointment.get_status_display().lower()
            ),
        )
    if session.status == Session.Status.CANCELLED:
        raise _Conflict("session_cancelled", _("This session has been cancelled."))
    if given_on != session.date:
        raise _Conflict(
            "session_not_that_day",
            _("The dose was given on {given}, but the session was on {date}.").format(
                given=date_format(given_on), date=date_format(session.date)
            ),
        )
    if item.site not in Site.values:
        raise _Conflict("site_unknown", _("Choose where the dose was given."))
    batch = state.batches.get(item.batch)
    if batch is None:
        raise _Conflict("batch_unknown", _("No batch has this id."))
    if batch.vaccine_id != session.vaccine_id:
        raise _Conflict(
            "wrong_vaccine",
            _("This session gives {vaccine}.").format(vaccine=session.vaccine.display_name),
        )
    dose = _eligible(state, session, person, given_on)
    state.check_batch(batch, given_on)
    key = (session.pk, batch.pk)
    account = state.accounts.get(key)
    if account is None:
        raise _Conflict(
            "batch_not_issued",
            _("Batch {lot} was not issued to this session.").format(lot=batch.lot_number),
        )
    if account.doses_left - state.taken[key] <= 0:
        raise _Conflict(
            "no_doses_left",
            _(
                "The vials of batch {lot} issued to this session hold no more doses: "
                "ask for another vial to be issued."
            ).format(lot=batch.lot_number),
        )
    vaccination = Vaccination(
        client_id=item.client_id,
        beneficiary=person,
        vaccine=session.vaccine,
        target=session.vaccine.target,
        batch=batch,
        dose_number=dose.dose_number,
        dose_kind=dose.kind,
        given_at=item.device_time,
        given_on=given_on,
        facility=session.facility,
        session=session,
        appointment=appointment,
        vaccinator=state.by,
        site=item.site,
        source=Vaccination.Source.OFFLINE,
        recorded_at=state.now,
    )
    code = message = ""
    if appointment is None:
        over = _walk_in(state, session, person, vaccination, item)
        if vaccination.pk is None:
            return _lost_race(item, vaccination)
        if over:
            code = "onsite_over_capacity"
            message = str(
                _("Recorded, but no on-site place was left: the session is over capacity.")
            )
    else:
        appointment.status = Appointment.Status.VACCINATED
    state.taken[key] += 1
    state.history[person.pk].append(PastDose(session.vaccine.code, vaccination.target, given_on))
    state.records[person.pk].append(
        _Record(
            person.pk,
            vaccination.target,
            vaccination.dose_number,
            given_on,
            vaccination.public_id,
            appointment.pk if appointment else vaccination.appointment_id,
        )
    )
    outcome = Outcome(
        item.client_id,
        SyncItem.Result.RECORDED,
        code,
        message,
        vaccination.public_id,
        vaccination.dose_number,
    )
    pending = _Pending(item, vaccination, appointment, key, outcome)
    (state.inserted if appointment is None else state.pending).append(pending)
    return outcome


def _dispatch_all(ids: list[int]) -> None:
    for pk in ids:
        _dispatch(pk)


def _dose_message(vaccination: Vaccination) -> Message | None:
    """Return the "you received dose N" SMS to queue, as `message_enqueue` makes it (or None).

    The batch's messages are inserted together; one INSERT each would be most of its time.
    """
    account = vaccination.beneficiary.account
    if account is None:
        return None
    template = "dose_recorded"
    with translation.override(account.language):
        values: dict[str, object] = {
            **KINDS[template].defaults,
            "name": vaccination.beneficiary.name,
            "dose": vaccination.dose_number,
            "vaccine": vaccination.vaccine.display_name,
            "date": date_format(vaccination.given_on, "DATE_FORMAT"),
        }
    return Message(
        channel=Message.Channel.SMS,
        recipient=account.phone,
        language=account.language,
        template=template,
        context=mask_secrets(template, values),
        body=render_text(
            channel="sms", template=template, language=account.language, context=values
        ),
        dedupe_key=f"dose_recorded:{vaccination.public_id}",
    )


def _eligible(state: _Batch, session: Session, person: Beneficiary, on: date) -> Eligible:
    result = next_dose(
        person.person(),
        state.history[person.pk],
        session.vaccine_rule(),
        on,
    )
    if isinstance(result, Ineligible):
        raise _Conflict(result.code, result.message)
    return result


def _duplicate(
    state: _Batch,
    item: Item,
    session: Session,
    person: Beneficiary,
    appointment: Appointment | None,
    given_on: date,
) -> _Record | None:
    """Return the record this item repeats: the appointment's, the dose expected, or the day's."""
    target = session.vaccine.target
    records = [r for r in state.records[person.pk] if r.target == target]
    if appointment is not None and appointment.status == Appointment.Status.VACCINATED:
        for record in records:
            if record.appointment_id == appointment.pk:
                return record
    for record in records:
        if item.expected_dose is not None and record.dose_number == item.expected_dose:
            return record
        # Nobody has two doses of one vaccine on one day: the same day's dose is this one.
        if record.given_on == given_on:
            return record
    return None


def _lost_race(item: Item, vaccination: Vaccination) -> Outcome:
    """Answer the item whose insert found its dose (or its client id) recorded meanwhile.

    The same client id sent by two requests at once: the second waited for the first to
    commit, and answers what the first kept.
    """
    kept = SyncItem.objects.filter(client_id=item.client_id).first()
    if kept is not None:
        return Outcome.of(kept)
    existing = (
        Vaccination.objects.filter(
            Q(client_id=item.client_id)
            | Q(
                beneficiary_id=vaccination.beneficiary_id,
                target=vaccination.target,
                dose_number=vaccination.dose_number,
                status=Vaccination.Status.VALID,
            )
        )
        .values_list("public_id", "dose_number")
        .first()
    )
    if existing is None:  # pragma: no cover - an insert is ignored only for a row that exists
        raise _Conflict("dose_already_recorded", _("This dose is already recorded."))
    return Outcome(
        item.client_id, SyncItem.Result.DUPLICATE, record=existing[0], dose_number=existing[1]
    )


def _walk_in(
    state: _Batch, session: Session, person: Beneficiary, vaccination: Vaccination, item: Item
) -> bool:
    """Make the on-site appointment of a person recorded offline without one, with the record.

    Returns whether the session had no on-site place left (the dose is recorded all the
    same). The appointment is made already vaccinated, so that it never competes with a
    live booking the person may hold elsewhere; both are undone if the record loses a race.
    """
    over = False
    try:
        with transaction.atomic():
            taken = SessionDose.objects.filter(
                session=session,
                dose_number=vaccination.dose_number,
                booked_onsite__lt=F("capacity_onsite"),
            ).update(booked_onsite=F("booked_onsite") + 1)
            over = not taken
            appointment = Appointment(
                beneficiary=person,
                session=session,
                dose_number=vaccination.dose_number,
                channel=Appointment.Channel.ONSITE,
                status=Appointment.Status.VACCINATED,
                security_code=f"{secrets.randbelow(10_000):04d}",
                checked_in_at=item.device_time,
                checked_in_by=state.by,
            )
            insert_returning(appointment)
            vaccination.appointment = appointment
            if insert_returning(vaccination, ignore_conflicts=True) is None:
                raise _Conflict("lost_race", "")
            audit_record(
                actor=state.by,
                action="appointment.walk_in",
                obj=appointment,
                data={"session": session.public_id, "dose": vaccination.dose_number},
            )
    except _Conflict:
        vaccination.pk = None
        vaccination.appointment = None
        return over
    if not over:
        state.walked_in.add(session.pk)
    return over


def _not_given(
    state: _Batch,
    item: Item,
    session: Session,
    person: Beneficiary,
    appointment: Appointment | None,
    given_on: date,
) -> Outcome:
    """Record a dose refused or deferred at the visit (on the appointment, if there is one)."""
    if item.reason not in NotGiven.Reason.values:
        raise _Conflict("reason_unknown", _("Choose a reason."))
    if item.reason == NotGiven.Reason.OTHER and not item.note.strip():
        raise _Conflict("note_required", _("Say why in the note."))
    if appointment is not None and appointment.status not in LIVE:
        raise _Conflict(
            "not_recordable",
            _("This appointment is {status}: no dose can be recorded on it.").format(
                status=appointment.get_status_display().lower()
            ),
        )
    if appointment is not None:
        dose_number = appointment.dose_number
    else:
        result = next_dose(
            person.person(),
            state.history[person.pk],
            session.vaccine_rule(),
            given_on,
        )
        dose_number = result.dose_number or 1
    record = NotGiven(
        client_id=item.client_id,
        kind=item.outcome,
        reason=item.reason,
        note=item.note.strip()[:300],
        beneficiary=person,
        session=session,
        appointment=appointment,
        dose_number=dose_number,
        by=state.by,
        at=item.device_time,
    )
    if insert_returning(record, ignore_conflicts=True) is None:
        kept = NotGiven.objects.filter(client_id=item.client_id).values_list(
            "public_id", "dose_number"
        )
        found = kept.first()
        if found is None:  # pragma: no cover - only a client id can collide
            raise _Conflict("not_given_recorded", _("This record has already been received."))
        return Outcome(
            item.client_id, SyncItem.Result.DUPLICATE, record=found[0], dose_number=found[1]
        )
    if appointment is not None:
        Appointment.objects.filter(pk=appointment.pk, status__in=LIVE).update(
            status=Appointment.Status.NOT_GIVEN
        )
        appointment.status = Appointment.Status.NOT_GIVEN
    audit_record(
        actor=state.by,
        action=f"vaccination.{item.outcome}",
        obj=record,
        data={
            "appointment": appointment.public_id if appointment else "",
            "reason": item.reason,
            "source": Vaccination.Source.OFFLINE,
        },
    )
    return Outcome(
        item.client_id, SyncItem.Result.RECORDED, record=record.public_id, dose_number=dose_number
    )
