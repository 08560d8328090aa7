"""Every write to appointments: book, cancel and move them (planning is in planning.py)."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Literal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.messages import notify_appointment
from vaxnet.booking.models import Appointment, Draw, Session, SessionDose, Slot
from vaxnet.booking.queries import dose_history
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.rows import insert_returning
from vaxnet.dashboard.services import bookings_tallied, cancellation_facts, facts_tallied
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary
from vaxnet.vaccines.eligibility import Ineligible, PastDose, VaccineRule, next_dose


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
        session.vaccine_rule() if rule is None else rule,
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


def dose_for(beneficiary: Beneficiary, session: Session) -> int:
    """Return the dose the beneficiary would receive in the session, or refuse with why not."""
    verdict = dose_verdict(beneficiary, session)
    if verdict.code or verdict.dose_number is None:
        raise DomainError(verdict.code, verdict.message)
    return verdict.dose_number


# The plan's re-read, per database vendor and number of doses: built once, as it runs on
# every booking.
_HOLD_PLAN_SQL: dict[tuple[str, int], str] = {}


def _hold_plan_sql(vendor: str, doses: int) -> str:
    """Return the statement that re-reads a session's plan for `_hold_plan`."""
    lock = " FOR SHARE OF s" if vendor == "postgresql" else ""
    # Table names from the models; every value is a parameter.
    return (
        "SELECT s.status, s.vaccine_id, s.min_age_years, s.max_age_years, f.active, "  # noqa: S608
        "s.date = %s, s.release_at = %s, "
        f"EXISTS (SELECT 1 FROM {Slot._meta.db_table} sl WHERE sl.id = %s "
        "AND sl.session_id = s.id AND sl.starts_at = %s AND sl.ends_at = %s), "
        f"(SELECT COUNT(*) FROM {SessionDose._meta.db_table} d WHERE d.session_id = s.id "
        f"AND d.dose_number IN ({', '.join(['%s'] * doses)})), "
        f"EXISTS (SELECT 1 FROM {Draw._meta.db_table} dr WHERE dr.session_id = s.id "
        "AND dr.status = %s) "
        f"FROM {Session._meta.db_table} s "
        f"JOIN {Facility._meta.db_table} f ON f.id = s.facility_id "
        f"WHERE s.id = %s{lock}"
    )


def _hold_plan(session: Session, slot: Slot, dose_numbers: set[int]) -> None:
    """Hold the session's plan as the booking checked it until the commit, or refuse.

    A manager may change the date, vaccine, ages, opening time, doses or slots of a session
    nobody has booked, or cancel it, while a booking checks eligibility; and the booking may
    have checked a copy of the session kept in this process for a few seconds
    (`citizen_queries.kept_session_for_booking`). So the booking re-reads, in its
    transaction and in one statement, everything it checked: on PostgreSQL with a share
    lock on the session that such a change waits for (bookings do not wait for each
    other); on SQLite its write transaction already excludes the change. A difference is
    `session_changed`, which the API answers by reading the session afresh once. The same
    statement says whether the session's fair draw is still to be made.
    """
    ops = connection.ops
    numbers = sorted(dose_numbers)
    key = (connection.vendor, len(numbers))
    sql = _HOLD_PLAN_SQL.get(key)
    if sql is None:
        sql = _HOLD_PLAN_SQL[key] = _hold_plan_sql(*key)
    params = [
        ops.adapt_datefield_value(session.date),
        ops.adapt_datetimefield_value(session.release_at),
        slot.pk,
        ops.adapt_timefield_value(slot.starts_at),
        ops.adapt_timefield_value(slot.ends_at),
        *numbers,
        Draw.Status.OPEN.value,
        session.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None or row[0] != Session.Status.PLANNED:
        raise DomainError("session_closed", _("This session is no longer taking bookings."))
    vaccine_id, min_age, max_age, active, same_date, same_release, slot_same, doses, draw = row[1:]
    checked = (session.vaccine_id, session.min_age_years, session.max_age_years)
    same = active and same_date and same_release and slot_same and doses == len(numbers)
    if (vaccine_id, min_age, max_age) != checked or not same:
        raise DomainError(
            "session_changed", _("This session has just been changed; look at it again.")
        )
    if draw:
        # Between the window's close and the draw (cron, within a minute) the places belong
        # to the entries: first come, first served starts once the draw is made.
        raise DomainError(
            "draw_pending",
            _("The fair draw for this session is being made; try again in a minute."),
        )


def take_online_place(session: Session, slot: Slot, dose_number: int) -> None:
    """Take one online place of the dose and of the slot, or refuse; never more than capacity.

    Two conditional UPDATEs, the only judges of capacity (a kept copy of the session never
    is), correct on SQLite and PostgreSQL without holding locks across requests. Written
    out rather than built by the ORM: they run on every booking, and building them cost
    more than running them.
    """
    doses, slots = SessionDose._meta.db_table, Slot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {doses} SET booked_online = booked_online + 1 "  # noqa: S608
            "WHERE session_id = %s AND dose_number = %s AND booked_online < capacity_online",
            [session.pk, dose_number],
        )
        if cursor.rowcount != 1:
            raise DomainError("dose_full", _("No places are left for this dose in this session."))
        cursor.execute(
            f"UPDATE {slots} SET booked = booked + 1 "  # noqa: S608
            "WHERE id = %s AND session_id = %s AND booked < capacity",
            [slot.pk, session.pk],
        )
        if cursor.rowcount != 1:
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
    doses = [(beneficiary, dose_for(beneficiary, session)) for beneficiary in beneficiaries]
    booked = []
    with transaction.atomic():
        _hold_plan(session, slot, {dose_number for _beneficiary, dose_number in doses})
        for beneficiary, dose_number in doses:
            take_online_place(session, slot, dose_number)
            # No savepoint: a unique violation ends the whole booking (all or none), and this
            # block's own rollback (to its savepoint when a caller's transaction holds it,
            # as the API's idempotency record does) leaves the caller's transaction usable,
            # on PostgreSQL as well.
            appointment = Appointment(
                beneficiary=beneficiary,
                session=session,
                slot=slot,
                dose_number=dose_number,
                channel=Appointment.Channel.ONLINE,
                security_code=f"{secrets.randbelow(10_000):04d}",
            )
            try:
                insert_returning(appointment)
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
            notify_appointment(appointment, "booking_confirmed")
            booked.append(appointment)
        bookings_tallied(session, booked)
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
        facts_tallied(cancellation_facts([appointment.pk]))
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
            notify_appointment(appointment, "booking_cancelled")
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
