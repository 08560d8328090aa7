"""Reads of the facility day: today's sessions, finding people, the queue, the batch to use."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, QuerySet

from vaxnet.booking.models import Appointment, Session, SessionDose
from vaxnet.booking.queries import dose_histories
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Batch, SessionStock
from vaxnet.stock.sessions import session_accounts
from vaxnet.vaccines.eligibility import Ineligible, next_dose

# A beneficiary's reference has 14 digits; a search by mobile gives its last 4.
REFERENCE_DIGITS = 14
PHONE_DIGITS = 4
FOUND_AT_MOST = 50


@dataclass
class BatchLeft:
    """What is left in the vials of one batch issued to a session."""

    batch: Batch
    doses_left: int
    closed: bool


@dataclass
class DayCounts:
    """One session of the day with its counts."""

    session: Session
    booked: int = 0
    checked_in: int = 0
    vaccinated: int = 0
    onsite_left: int = 0
    batches: list[BatchLeft] = field(default_factory=list)


def sessions_of_day(facility: Facility, on: date) -> list[DayCounts]:
    """Return the facility's sessions on the day with their counts, in a few queries."""
    sessions = list(
        Session.objects.filter(facility=facility, date=on)
        .select_related("vaccine")
        .annotate(
            n_booked=Count("appointments", filter=Q(appointments__status="booked")),
            n_checked_in=Count("appointments", filter=Q(appointments__status="checked_in")),
            n_vaccinated=Count("appointments", filter=Q(appointments__status="vaccinated")),
        )
        .order_by("created_at", "pk")
    )
    days = {
        s.pk: DayCounts(
            session=s,
            booked=s.n_booked,
            checked_in=s.n_checked_in,
            vaccinated=s.n_vaccinated,
        )
        for s in sessions
    }
    for dose in SessionDose.objects.filter(session_id__in=days):
        days[dose.session_id].onsite_left += max(0, dose.capacity_onsite - dose.booked_onsite)
    accounts = (
        SessionStock.objects.filter(session_id__in=days)
        .select_related("batch")
        .order_by("batch__expires_on", "batch__lot_number")
    )
    for account in accounts:
        days[account.session_id].batches.append(
            BatchLeft(account.batch, account.doses_left, account.closed_at is not None)
        )
    return list(days.values())


def appointments_found(session: Session, q: str) -> QuerySet[Appointment]:
    """Return the session's appointments matching a reference, a mobile's last 4 digits or a name.

    Fourteen digits are a beneficiary reference, four digits the end of the account's
    mobile number, anything else part of the name (case-insensitive); too short finds none.
    """
    q = q.strip()
    found = Appointment.objects.filter(session=session).select_related(
        "beneficiary__id_type", "beneficiary__account", "slot"
    )
    if q.isdigit() and len(q) == REFERENCE_DIGITS:
        found = found.filter(beneficiary__reference=q)
    elif q.isdigit() and len(q) == PHONE_DIGITS:
        found = found.filter(beneficiary__account__phone__endswith=q)
    elif len(q) >= 2:
        found = found.filter(beneficiary__name__icontains=q)
    else:
        return found.none()
    return found.order_by("beneficiary__name", "pk")[:FOUND_AT_MOST]


@dataclass
class Queued:
    """A checked-in person waiting for the vaccinator, with the dose the engine gives today."""

    appointment: Appointment
    dose_number: int | None
    refusal: str = ""


def vaccinator_queue(session: Session) -> list[Queued]:
    """Return the session's checked-in people, first come first, each with their dose today."""
    appointments = list(
        Appointment.objects.filter(session=session, status=Appointment.Status.CHECKED_IN)
        .select_related("beneficiary__id_type", "beneficiary__account")
        .order_by("checked_in_at", "pk")
    )
    histories = dose_histories([a.beneficiary for a in appointments])
    rule = session.vaccine_rule()
    queue = []
    for appointment in appointments:
        person = appointment.beneficiary
        result = next_dose(person.person(), histories.get(person.pk, []), rule, session.date)
        if isinstance(result, Ineligible):
            queue.append(Queued(appointment, result.dose_number, result.code))
        else:
            queue.append(Queued(appointment, result.dose_number))
    return queue


def usable(batch: Batch, on: date) -> bool:
    """Return whether a dose may be given from the batch on the day, as far as the batch goes."""
    return (
        batch.recalled_at is None
        and not batch.is_expired(on=on)
        and not batch.is_discarded_by_vvm()
    )


def batch_suggested(session: Session, on: date) -> Batch | None:
    """Return the batch to give from: first expiry first, of those issued with doses left."""
    for account in session_accounts(session):
        if account.closed_at is None and account.doses_left > 0 and usable(account.batch, on):
            return account.batch
    return None
