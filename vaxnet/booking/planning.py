"""Planning sessions: create, change and cancel them, never breaking a booking made."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from itertools import pairwise

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.citizen_queries import session_forget
from vaxnet.booking.messages import notify_appointment
from vaxnet.booking.models import Appointment, DrawEntry, Session, SessionDose, Slot
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.dashboard.services import (
    cancellation_facts,
    facts_replaced,
    facts_tallied,
    session_facts,
    session_status_changed,
)
from vaxnet.facilities.models import Facility
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
        facts_tallied(session_facts([session.pk]))
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
    _forget(session)
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
    # The dashboard counts a session by its date and vaccine, and its bookings by its vaccine.
    recount = plan.vaccine.pk != current.vaccine_id
    counted = session_facts([current.pk], appointments=recount)
    Session.objects.filter(pk=current.pk).update(
        date=plan.on,
        vaccine=plan.vaccine,
        min_age_years=plan.min_age_years,
        max_age_years=plan.max_age_years,
        fee=fee,
        release_at=release_at,
    )
    facts_replaced(counted, session_facts([current.pk], appointments=recount))
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
        session_status_changed(session.pk, Session.Status.PLANNED)
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
        facts_tallied(cancellation_facts([a.pk for a in booked]))
        SessionDose.objects.filter(session=session).update(booked_online=0, booked_onsite=0)
        Slot.objects.filter(session=session).update(booked=0)
        link = f"{settings.PUBLIC_URL}{reverse('facilities:directory')}"
        for appointment in booked:
            appointment.status = Appointment.Status.CANCELLED
            notify_appointment(appointment, "session_cancelled", link=link)
        audit_record(
            actor=by,
            action="session.cancel",
            obj=session,
            data={"reason": reason.strip(), "appointments_cancelled": len(booked)},
        )
        availability_changed(session)
    _forget(session)
    session.refresh_from_db()
    return session


def _forget(session: Session) -> None:
    """Drop this process's kept copy of a changed session, so its next booking reads it afresh.

    Other processes notice the change when a booking re-reads the plan in its transaction
    (`services.appointment_book`), and then read it afresh too.
    """
    session_forget(session.public_id)
