"""Every write to sessions and their slots."""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from itertools import pairwise
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, ProtectedError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.models import Appointment, Draw, DrawEntry, Session, SessionDose, Slot
from vaxnet.booking.queries import dose_history
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary
from vaxnet.vaccines.eligibility import Ineligible, PastDose, VaccineRule, next_dose
from vaxnet.vaccines.models import Vaccine


@dataclass(frozen=True)
class SlotSpec:
    """A time slot to create: its window and its share of the capacity."""

    starts_at: time
    ends_at: time
    capacity: int


def _check_plan(
    *,
    facility: Facility,
    on: date,
    vaccine: Vaccine,
    capacity: dict[int, tuple[int, int]],
    slots: list[SlotSpec],
    release_at: datetime,
    min_age_years: int,
    max_age_years: int | None,
) -> list[SlotSpec]:
    """Refuse a session plan that cannot work, saying why; return its slots in time order."""
    if on < timezone.localdate():
        raise DomainError(
            "session_in_past", _("A session cannot be planned in the past."), field="on"
        )
    if timezone.localtime(release_at).date() > on:
        raise DomainError(
            "release_after_session",
            _("Booking cannot open after the day of the session."),
            field="release_at",
        )
    if vaccine.country_id != facility.country_id or not vaccine.active:
        raise DomainError(
            "vaccine_unavailable", _("This vaccine is not offered here."), field="vaccine"
        )
    series = {dose.number for dose in vaccine.doses.all()}
    if not capacity or not set(capacity) <= series:
        raise DomainError(
            "dose_numbers",
            _("Choose dose numbers from this vaccine's schedule."),
            field="dose_numbers",
        )
    if any(online < 0 or onsite < 0 for online, onsite in capacity.values()) or not any(
        online + onsite for online, onsite in capacity.values()
    ):
        raise DomainError("capacity", _("A session needs some capacity."), field="capacity")
    capacity_online = sum(online for online, _onsite in capacity.values())
    if max_age_years is not None and max_age_years < min_age_years:
        raise DomainError(
            "age_window",
            _("The maximum age cannot be below the minimum age."),
            field="max_age_years",
        )
    if capacity_online and not slots:
        raise DomainError(
            "slots_missing", _("Online places need at least one time slot."), field="slots"
        )
    ordered = sorted(slots, key=lambda s: s.starts_at)
    for slot in ordered:
        if slot.ends_at <= slot.starts_at or slot.capacity <= 0:
            raise DomainError(
                "slot_invalid",
                _("Each slot must end after it starts and hold people."),
                field="slots",
            )
        if not (
            facility.is_open_at(slot.starts_at)
            and (facility.closes_at is None or slot.ends_at <= facility.closes_at)
        ):
            raise DomainError(
                "slot_hours",
                _("Slots must fall within the facility's opening hours."),
                field="slots",
            )
    for earlier, later in pairwise(ordered):
        if later.starts_at < earlier.ends_at:
            raise DomainError("slot_overlap", _("Time slots must not overlap."), field="slots")
    if sum(slot.capacity for slot in slots) != capacity_online:
        raise DomainError(
            "slot_capacity",
            _("The time slots must share exactly the session's online places."),
            field="slots",
        )
    return ordered


def session_create(
    *,
    by: User | None,
    facility: Facility,
    on: date,
    vaccine: Vaccine,
    capacity: dict[int, tuple[int, int]],
    slots: list[SlotSpec],
    release_at: datetime,
    min_age_years: int = 0,
    max_age_years: int | None = None,
    fee: Decimal | None = None,
    public_id: str | None = None,
) -> Session:
    """Plan a vaccination session at a facility.

    `capacity` maps each dose number offered to its (online, on-site) places; the
    slots share the online places between them.
    """
    if not facility.active:
        raise DomainError("facility_inactive", _("This facility is not active."))
    ordered = _check_plan(
        facility=facility,
        on=on,
        vaccine=vaccine,
        capacity=capacity,
        slots=slots,
        release_at=release_at,
        min_age_years=min_age_years,
        max_age_years=max_age_years,
    )
    with transaction.atomic():
        session = Session(
            facility=facility,
            date=on,
            vaccine=vaccine,
            min_age_years=min_age_years,
            max_age_years=max_age_years,
            fee=facility.fee_for(vaccine) if fee is None else fee,
            release_at=release_at,
        )
        if public_id:
            session.public_id = public_id
        session.save()
        SessionDose.objects.bulk_create(
            [
                SessionDose(
                    session=session,
                    dose_number=number,
                    capacity_online=online,
                    capacity_onsite=onsite,
                )
                for number, (online, onsite) in sorted(capacity.items())
            ]
        )
        Slot.objects.bulk_create(
            [
                Slot(session=session, starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity)
                for s in ordered
            ]
        )
        audit_record(
            actor=by,
            action="session.create",
            obj=session,
            data={"facility": facility.code, "date": on.isoformat(), "vaccine": vaccine.code},
        )
        availability_changed(session)
    return session


# A few tries when PostgreSQL picks an edit as the victim of a deadlock with a booking.
_UPDATE_ATTEMPTS = 3


def _same_minute(first: datetime, second: datetime) -> bool:
    """Return whether two moments fall in the same minute (forms carry no seconds)."""
    return first.replace(second=0, microsecond=0) == second.replace(second=0, microsecond=0)


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def session_update(
    *,
    by: User | None,
    session: Session,
    on: date,
    vaccine: Vaccine,
    capacity: dict[int, tuple[int, int]],
    slots: list[SlotSpec],
    release_at: datetime,
    min_age_years: int = 0,
    max_age_years: int | None = None,
    fee: Decimal | None = None,
    now: datetime | None = None,
) -> Session:
    """Change a planned session to a new plan, keeping every booking in it valid.

    The plan is the whole session, as for `session_create`; a `fee` of None keeps the
    session's fee (or takes the facility's fee when the vaccine changes). Once anyone has
    booked, the date, vaccine, doses, ages and fee stay as they are; no capacity goes
    below what is booked; booked slots keep their times; the opening time changes only
    until booking opens.
    """
    now = now or timezone.now()
    if session.status != Session.Status.PLANNED:
        raise DomainError("session_not_planned", _("Only a planned session can be changed."))
    if session.date < timezone.localdate(now):
        raise DomainError("session_over", _("This session has already taken place."))
    if min_age_years < 0:
        raise DomainError(
            "age_window", _("The minimum age cannot be negative."), field="min_age_years"
        )
    if fee is not None and fee < 0:
        raise DomainError("fee_negative", _("The fee cannot be negative."), field="fee")
    ordered = _check_plan(
        facility=session.facility,
        on=on,
        vaccine=vaccine,
        capacity=capacity,
        slots=slots,
        release_at=release_at,
        min_age_years=min_age_years,
        max_age_years=max_age_years,
    )
    plan = _Plan(on, vaccine, capacity, ordered, release_at, min_age_years, max_age_years, fee)
    # Inside a caller's transaction a deadlock cannot be retried here: it is the caller's.
    attempts = 1 if transaction.get_connection().in_atomic_block else _UPDATE_ATTEMPTS
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                _apply_update(by=by, session=session, plan=plan, now=now)
            break
        except OperationalError as error:
            if attempt + 1 == attempts or not _is_deadlock(error):
                raise
    session.refresh_from_db()
    return session


@dataclass(frozen=True)
class _Plan:
    """A checked session plan, as `session_update` applies it."""

    on: date
    vaccine: Vaccine
    capacity: dict[int, tuple[int, int]]
    slots: list[SlotSpec]
    release_at: datetime
    min_age_years: int
    max_age_years: int | None
    fee: Decimal | None


def _apply_update(*, by: User | None, session: Session, plan: _Plan, now: datetime) -> None:
    """Apply a checked plan to a session within the caller's transaction, or refuse."""
    # Locked in the order bookings take them (dose, then slot), so that the booked counts
    # read here stay true until the commit; SQLite serialises writers instead. NO KEY: a
    # booking's new appointment takes a key-share lock on its session and slot rows.
    current = (
        # Only the session's own row: the facility, country and vaccine stay free to others.
        Session.objects.select_for_update(no_key=True, of=("self",))
        .select_related("facility__country", "vaccine")
        .get(pk=session.pk)
    )
    if current.status != Session.Status.PLANNED:
        raise DomainError("session_not_planned", _("Only a planned session can be changed."))
    if current.date < timezone.localdate(now):
        raise DomainError("session_over", _("This session has already taken place."))
    doses = {
        dose.dose_number: dose
        for dose in SessionDose.objects.select_for_update(no_key=True)
        .filter(session=current)
        .order_by("dose_number")
    }
    existing = list(
        Slot.objects.select_for_update(no_key=True).filter(session=current).order_by("starts_at")
    )
    booked = (
        any(dose.booked_online or dose.booked_onsite for dose in doses.values())
        or current.appointments.exclude(status=Appointment.Status.CANCELLED).exists()
        or current.draw_entries.filter(outcome=DrawEntry.Outcome.PENDING).exists()
    )
    if plan.fee is not None:
        fee = plan.fee
    elif plan.vaccine.pk == current.vaccine_id:
        fee = current.fee
    else:
        fee = current.facility.fee_for(plan.vaccine)
    changes: dict[str, list[str | None]] = {}
    terms = [
        ("on", "date", current.date.isoformat(), plan.on.isoformat()),
        ("vaccine", "vaccine", current.vaccine.code, plan.vaccine.code),
        ("dose_numbers", "doses", _numbers(doses), _numbers(plan.capacity)),
        ("min_age_years", "min_age_years", current.min_age_years, plan.min_age_years),
        ("max_age_years", "max_age_years", current.max_age_years, plan.max_age_years),
        ("fee", "fee", f"{current.fee:.2f}", f"{fee:.2f}"),
    ]
    for field, key, old, new in terms:
        if old == new:
            continue
        if booked:
            raise DomainError(
                "session_booked",
                _(
                    "People have booked this session: its date, vaccine, doses, ages and fee "
                    "can no longer change."
                ),
                field=field,
            )
        changes[key] = [None if old is None else str(old), None if new is None else str(new)]
    released = current.release_at <= now
    release_at = current.release_at
    if not _same_minute(plan.release_at, current.release_at):
        if released:
            raise DomainError(
                "already_released",
                _("Booking has opened already: the opening time can no longer change."),
                field="release_at",
            )
        release_at = plan.release_at
        changes["release_at"] = [current.release_at.isoformat(), release_at.isoformat()]
    Session.objects.filter(pk=current.pk).update(
        date=plan.on,
        vaccine=plan.vaccine,
        min_age_years=plan.min_age_years,
        max_age_years=plan.max_age_years,
        fee=fee,
        release_at=release_at,
    )
    more_online = _update_doses(current, doses, plan.capacity, changes)
    more_online = _update_slots(current, existing, plan.slots, changes) or more_online
    if not changes:
        return
    audit_record(
        actor=by,
        action="session.update",
        obj=current,
        data={"facility": current.facility.code, "changes": changes},
    )
    availability_changed(current)
    opens_now = release_at <= now and (more_online or not released)
    if opens_now:
        from vaxnet.booking.waitlist import waitlist_session_opened

        # After the commit, and robust: the change stands whatever the waitlist does.
        transaction.on_commit(partial(waitlist_session_opened, session=current), robust=True)


def _numbers(doses: Mapping[int, object]) -> str:
    return " ".join(str(number) for number in sorted(doses))


def _update_doses(
    session: Session,
    doses: dict[int, SessionDose],
    capacity: dict[int, tuple[int, int]],
    changes: dict[str, list[str | None]],
) -> bool:
    """Set each dose's places, never below what is booked; return whether online places grew."""
    grew = False
    for number, (online, onsite) in sorted(capacity.items()):
        dose = doses.get(number)
        if dose is None:
            SessionDose.objects.create(
                session=session, dose_number=number, capacity_online=online, capacity_onsite=onsite
            )
            grew = grew or online > 0
            continue
        if (online, onsite) == (dose.capacity_online, dose.capacity_onsite):
            continue
        if online < dose.booked_online or onsite < dose.booked_onsite:
            raise DomainError(
                "capacity_below_booked",
                _(
                    "Dose {number} already has {online} people booked online and {onsite} on "
                    "site; its places cannot go below that."
                ).format(number=number, online=dose.booked_online, onsite=dose.booked_onsite),
                field="capacity",
            )
        # Conditional as well as locked: the constraint holds whatever the isolation.
        updated = SessionDose.objects.filter(
            pk=dose.pk, booked_online__lte=online, booked_onsite__lte=onsite
        ).update(capacity_online=online, capacity_onsite=onsite)
        if not updated:
            raise DomainError(
                "capacity_below_booked",
                _("More people booked meanwhile; look at the session again."),
                field="capacity",
            )
        grew = grew or online > dose.capacity_online
        changes[f"dose_{number}"] = [
            f"{dose.capacity_online}+{dose.capacity_onsite}",
            f"{online}+{onsite}",
        ]
    for number, dose in doses.items():
        if number not in capacity:
            dose.delete()
    return grew


def _update_slots(
    session: Session,
    existing: list[Slot],
    specs: list[SlotSpec],
    changes: dict[str, list[str | None]],
) -> bool:
    """Make the session's slots those given, keeping booked ones; return whether any grew."""
    wanted = {spec.starts_at: spec for spec in specs}
    kept = {slot.starts_at: slot for slot in existing}
    grew = False
    for slot in existing:
        spec = wanted.get(slot.starts_at)
        moved = spec is None or spec.ends_at != slot.ends_at
        if moved and (
            slot.booked > 0
            or DrawEntry.objects.filter(slot=slot, outcome=DrawEntry.Outcome.PENDING).exists()
        ):
            raise DomainError(
                "slot_in_use",
                _("People have booked the slot {slot}: keep its times.").format(slot=slot),
                field="slots",
            )
        if spec is None:
            try:
                slot.delete()
            except ProtectedError:
                raise DomainError(
                    "slot_in_use",
                    _("The slot {slot} has past bookings and cannot be removed.").format(slot=slot),
                    field="slots",
                ) from None
            changes[f"slot_{slot.starts_at:%H%M}"] = [f"{slot}/{slot.capacity}", None]
            continue
        if (spec.ends_at, spec.capacity) == (slot.ends_at, slot.capacity):
            continue
        updated = Slot.objects.filter(pk=slot.pk, booked__lte=spec.capacity).update(
            ends_at=spec.ends_at, capacity=spec.capacity
        )
        if not updated:
            raise DomainError(
                "slot_below_booked",
                _(
                    "The slot {slot} already has {booked} people booked; it cannot hold fewer."
                ).format(slot=slot, booked=slot.booked),
                field="slots",
            )
        grew = grew or spec.capacity > slot.capacity
        changes[f"slot_{slot.starts_at:%H%M}"] = [
            f"{slot}/{slot.capacity}",
            f"{spec.starts_at:%H:%M}–{spec.ends_at:%H:%M}/{spec.capacity}",
        ]
    for spec in specs:
        if spec.starts_at in kept:
            continue
        Slot.objects.create(
            session=session, starts_at=spec.starts_at, ends_at=spec.ends_at, capacity=spec.capacity
        )
        grew = True
        changes[f"slot_{spec.starts_at:%H%M}"] = [
            None,
            f"{spec.starts_at:%H:%M}–{spec.ends_at:%H:%M}/{spec.capacity}",
        ]
    return grew


def _sms(appointment: Appointment, template: str, **extra: str | int) -> None:
    """Queue a message about an appointment to its account, in the account's language."""
    from vaxnet.notifications.kinds import KINDS
    from vaxnet.notifications.services import message_enqueue

    beneficiary = appointment.beneficiary
    account = beneficiary.account
    session = appointment.session
    slot = appointment.slot
    with translation.override(account.language):
        context: dict[str, str | int] = {
            "name": beneficiary.name,
            "centre": session.facility.name,
            "date": date_format(session.date, "DATE_FORMAT"),
            "slot": str(slot) if slot is not None else "",
            "code": appointment.security_code,
            **extra,
        }
    message_enqueue(
        to=account.phone,
        language=account.language,
        template=template,
        # Each message takes only what its text uses.
        context={key: value for key, value in context.items() if key in KINDS[template].keys},
        dedupe_key=f"{template}:{appointment.public_id}:{appointment.status}",
    )


def _check_bookable(session: Session, now: datetime) -> None:
    """Refuse a session that is not open for online booking at this moment, saying why."""
    code = session.booking_refusal(now)
    if code is None:
        return
    booking = session.facility.country.config.get("booking", {})
    message: str | Promise
    if code == "session_closed":
        message = _("This session is no longer taking bookings.")
    elif code == "session_over":
        message = _("This session has already taken place.")
    elif code == "not_released":
        message = _("Booking for this session opens at {when}.").format(
            when=date_format(timezone.localtime(session.release_at), "DATETIME_FORMAT")
        )
    elif code == "fair_window_open":
        message = _(
            "Requests in the first {minutes} minutes after opening take part in a fair "
            "draw; direct booking starts after it."
        ).format(minutes=booking.get("fair_window_minutes", 0))
    else:
        message = _("Booking for today closes at {hour}:00; choose another day.").format(
            hour=booking.get("same_day_cutoff_hour", 24)
        )
    raise DomainError(code, message)


def booking_mode(session: Session, now: datetime) -> Literal["closed", "draw", "open"]:
    """Return how a booking request is taken now: refused, entered in the draw, or booked."""
    code = session.booking_refusal(now)
    if code == "fair_window_open":
        return "draw"
    if code is not None or _draw_pending(session):
        return "closed"
    return "open"


def _draw_pending(session: Session) -> bool:
    """Return whether the session's draw has yet to be made (its places are not free yet)."""
    return Draw.objects.filter(session=session, status=Draw.Status.OPEN).exists()


@dataclass(frozen=True)
class DoseVerdict:
    """The dose a beneficiary would receive in a session, or the coded reason why not."""

    dose_number: int | None
    code: str = ""
    message: str | Promise = ""
    available_from: date | None = None

    @property
    def bookable(self) -> bool:
        """Return whether the beneficiary may book the session."""
        return not self.code


def dose_verdict(
    beneficiary: Beneficiary,
    session: Session,
    *,
    history: list[PastDose] | None = None,
    rule: VaccineRule | None = None,
) -> DoseVerdict:
    """Return the dose the beneficiary would receive in the session, or why not; never raises.

    The history and the vaccine's rule are read when not given; a search that judges many
    sessions passes them in, so that judging takes no query.
    """
    result = next_dose(
        beneficiary.person(),
        dose_history(beneficiary) if history is None else history,
        session.vaccine.rule() if rule is None else rule,
        session.date,
    )
    if isinstance(result, Ineligible):
        return DoseVerdict(result.dose_number, result.code, result.message, result.available_from)
    offered = {dose.dose_number for dose in session.doses.all()}
    if result.dose_number not in offered:
        return DoseVerdict(
            result.dose_number,
            "dose_not_offered",
            _("{name} needs dose {number}, which this session does not offer.").format(
                name=beneficiary.name, number=result.dose_number
            ),
        )
    age = session.date.year - beneficiary.birth_year
    if age < session.min_age_years or (
        session.max_age_years is not None and age > session.max_age_years
    ):
        return DoseVerdict(
            result.dose_number,
            "age_not_in_session",
            _("This session is not for {name}'s age group.").format(name=beneficiary.name),
        )
    return DoseVerdict(result.dose_number)


def _dose_for(beneficiary: Beneficiary, session: Session) -> int:
    """Return the dose the beneficiary would receive in the session, or refuse with why not."""
    verdict = dose_verdict(beneficiary, session)
    if verdict.code or verdict.dose_number is None:
        raise DomainError(verdict.code, verdict.message)
    return verdict.dose_number


def _hold_plan(session: Session) -> None:
    """Hold the session's plan as the booking checked it until the commit, or refuse.

    A manager may change the date, vaccine or ages of a session nobody has booked, or cancel
    it, while a booking checks eligibility. The booking re-reads the plan in its transaction
    first; on PostgreSQL with a share lock that such a change waits for (bookings do not
    wait for each other), on SQLite its write transaction already excludes the change.
    """
    table = Session._meta.db_table
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, vaccine_id, date, min_age_years, max_age_years "  # noqa: S608
            f"FROM {table} WHERE id = %s{lock}",
            [session.pk],
        )
        row = cursor.fetchone()
    if row is None or row[0] != Session.Status.PLANNED:
        raise DomainError("session_closed", _("This session is no longer taking bookings."))
    on = row[2] if isinstance(row[2], date) else date.fromisoformat(row[2])
    checked = (session.vaccine_id, session.date, session.min_age_years, session.max_age_years)
    if (row[1], on, row[3], row[4]) != checked:
        raise DomainError(
            "session_changed", _("This session has just been changed; look at it again.")
        )


def _take_online_place(session: Session, slot: Slot, dose_number: int) -> None:
    """Take one online place of the dose and of the slot, or refuse; never more than capacity."""
    taken = SessionDose.objects.filter(
        session=session, dose_number=dose_number, booked_online__lt=F("capacity_online")
    ).update(booked_online=F("booked_online") + 1)
    if not taken:
        raise DomainError("dose_full", _("No places are left for this dose in this session."))
    taken = Slot.objects.filter(pk=slot.pk, session=session, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if not taken:
        raise DomainError("slot_full", _("This time slot is full; choose another."))


def _release_online_place(appointment: Appointment) -> None:
    SessionDose.objects.filter(
        session_id=appointment.session_id, dose_number=appointment.dose_number, booked_online__gt=0
    ).update(booked_online=F("booked_online") - 1)
    if appointment.slot_id is not None:
        Slot.objects.filter(pk=appointment.slot_id, booked__gt=0).update(booked=F("booked") - 1)


def appointment_book(
    *,
    beneficiaries: list[Beneficiary],
    session: Session,
    slot: Slot,
    now: datetime | None = None,
) -> list[Appointment]:
    """Book a slot of a session for one or several members of an account: all or none."""
    now = now or timezone.now()
    if not beneficiaries:
        raise DomainError("no_beneficiary", _("Choose who to book for."), field="beneficiaries")
    if len({b.account_id for b in beneficiaries}) != 1 or len(set(beneficiaries)) != len(
        beneficiaries
    ):
        raise DomainError("beneficiaries_mixed", _("Choose each member of one account once."))
    if slot.session_id != session.pk:
        raise DomainError("slot_unknown", _("Choose a time slot of this session."), field="slot")
    _check_bookable(session, now)
    if _draw_pending(session):
        # Between the window's close and the draw (cron, within a minute) the places belong
        # to the entries: first come, first served starts once the draw is made.
        raise DomainError(
            "draw_pending",
            _("The fair draw for this session is being made; try again in a minute."),
        )
    doses = [(beneficiary, _dose_for(beneficiary, session)) for beneficiary in beneficiaries]
    booked = []
    with transaction.atomic():
        _hold_plan(session)
        for beneficiary, dose_number in doses:
            _take_online_place(session, slot, dose_number)
            try:
                with transaction.atomic():
                    appointment = Appointment.objects.create(
                        beneficiary=beneficiary,
                        session=session,
                        slot=slot,
                        dose_number=dose_number,
                        channel=Appointment.Channel.ONLINE,
                        security_code=f"{secrets.randbelow(10_000):04d}",
                    )
            except IntegrityError:
                raise DomainError(
                    "already_booked",
                    _("{name} already has an appointment for dose {number}.").format(
                        name=beneficiary.name, number=dose_number
                    ),
                ) from None
            audit_record(
                actor=None,
                actor_label=f"account:{beneficiary.account_id}",
                action="appointment.book",
                obj=appointment,
                data={"session": session.public_id, "dose": dose_number},
            )
            _sms(appointment, "booking_confirmed")
            booked.append(appointment)
        availability_changed(session)
    return booked


def appointment_cancel(
    *, appointment: Appointment, by: User | None = None, notify: bool = True
) -> Appointment:
    """Cancel a booked appointment and give its place back."""
    with transaction.atomic():
        changed = Appointment.objects.filter(
            pk=appointment.pk, status=Appointment.Status.BOOKED
        ).update(status=Appointment.Status.CANCELLED, cancelled_at=timezone.now())
        if not changed:
            raise DomainError(
                "not_cancellable", _("This appointment can no longer be cancelled or moved.")
            )
        if appointment.channel == Appointment.Channel.ONLINE:
            _release_online_place(appointment)
        else:
            SessionDose.objects.filter(
                session_id=appointment.session_id,
                dose_number=appointment.dose_number,
                booked_onsite__gt=0,
            ).update(booked_onsite=F("booked_onsite") - 1)
        appointment.refresh_from_db()
        audit_record(
            actor=by,
            actor_label="" if by else f"account:{appointment.beneficiary.account_id}",
            action="appointment.cancel",
            obj=appointment,
        )
        if notify:
            _sms(appointment, "booking_cancelled")
        availability_changed(appointment.session)
        if appointment.channel == Appointment.Channel.ONLINE:
            from vaxnet.booking.waitlist import waitlist_place_freed

            # After the commit, and robust: the cancellation stands whatever the waitlist does.
            transaction.on_commit(
                partial(
                    waitlist_place_freed,
                    session=appointment.session,
                    dose_number=appointment.dose_number,
                    slot=appointment.slot,
                ),
                robust=True,
            )
    return appointment


def appointment_reschedule(
    *, appointment: Appointment, session: Session, slot: Slot, now: datetime | None = None
) -> Appointment:
    """Move a booked appointment to another slot or session; the old place is kept on failure."""
    with transaction.atomic():
        appointment_cancel(appointment=appointment, notify=False)
        (moved,) = appointment_book(
            beneficiaries=[appointment.beneficiary], session=session, slot=slot, now=now
        )
    return moved


def session_cancel(*, by: User | None, session: Session, reason: str) -> Session:
    """Cancel a planned session: every booking in it is cancelled and its holder told by SMS."""
    if not reason.strip():
        raise DomainError("reason_required", _("Say why the session is cancelled."), field="reason")
    with transaction.atomic():
        changed = Session.objects.filter(pk=session.pk, status=Session.Status.PLANNED).update(
            status=Session.Status.CANCELLED
        )
        if not changed:
            raise DomainError("session_not_planned", _("Only a planned session can be cancelled."))
        started = session.appointments.filter(
            status__in=[Appointment.Status.CHECKED_IN, Appointment.Status.VACCINATED]
        )
        if started.exists():
            raise DomainError(
                "session_started",
                _("People have already been checked in: close the session instead."),
            )
        booked = list(
            session.appointments.filter(status=Appointment.Status.BOOKED).select_related(
                "beneficiary__account", "slot", "session__facility"
            )
        )
        Appointment.objects.filter(pk__in=[a.pk for a in booked]).update(
            status=Appointment.Status.CANCELLED, cancelled_at=timezone.now()
        )
        SessionDose.objects.filter(session=session).update(booked_online=0, booked_onsite=0)
        Slot.objects.filter(session=session).update(booked=0)
        link = f"{settings.PUBLIC_URL}{reverse('facilities:directory')}"
        for appointment in booked:
            appointment.status = Appointment.Status.CANCELLED
            _sms(appointment, "session_cancelled", link=link)
        audit_record(
            actor=by,
            action="session.cancel",
            obj=session,
            data={"reason": reason.strip(), "appointments_cancelled": len(booked)},
        )
        availability_changed(session)
    session.refresh_from_db()
    return session
