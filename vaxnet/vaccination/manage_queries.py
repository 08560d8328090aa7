"""Reads for the managers' pages: a facility's staff, a day's sessions with their figures, AEFIs.

Every list is built in a fixed number of queries whatever its length: the per-session
figures are correlated subqueries, never a query per row.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from vaxnet.booking.models import Appointment, Session, SessionDose
from vaxnet.facilities.models import Facility, StaffMembership
from vaxnet.stock.models import SessionStock, StockMove
from vaxnet.vaccination.models import Aefi, Vaccination

# The figures every session row carries, in the order the tables show them.
FIGURES = (
    "capacity",
    "booked",
    "checked_in",
    "vaccinated",
    "doses_not_given",
    "no_show",
    "walk_ins",
    "doses_given",
    "vials_issued",
    "vials_returned",
    "open_vial_wastage",
)


def staff_of(facility: Facility) -> QuerySet[StaffMembership]:
    """Return the facility's memberships, active ones first, with their users."""
    return (
        StaffMembership.objects.filter(facility=facility)
        .select_related("user")
        .order_by("-active", "role", "user__username", "pk")
    )


def _total(model: type[Model], column: Any, condition: Q | None = None) -> Coalesce:
    """Return a per-session subquery summing (or counting) a column of a related model."""
    rows = model._default_manager.filter(session=OuterRef("pk"))
    if condition is not None:
        rows = rows.filter(condition)
    total = rows.order_by().values("session").annotate(total=column).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def _appointments(condition: Q) -> Coalesce:
    return _total(Appointment, Count("pk"), condition)


def sessions_on(facilities: QuerySet[Facility], on: date) -> QuerySet[Session]:
    """Return the sessions at the facilities on the date, each annotated with its figures.

    Booked counts every place taken (online or on site) that is not cancelled; checked in
    counts everyone who arrived, whatever happened next.
    """
    return (
        Session.objects.filter(facility__in=facilities, date=on)
        .select_related("facility", "vaccine")
        .annotate(
            capacity=_total(SessionDose, Sum("capacity_online") + Sum("capacity_onsite")),
            booked=_appointments(~Q(status=Appointment.Status.CANCELLED)),
            checked_in=_appointments(Q(checked_in_at__isnull=False)),
            waiting=_appointments(Q(status=Appointment.Status.CHECKED_IN)),
            vaccinated=_appointments(Q(status=Appointment.Status.VACCINATED)),
            doses_not_given=_appointments(Q(status=Appointment.Status.NOT_GIVEN)),
            no_show=_appointments(Q(status=Appointment.Status.NO_SHOW)),
            walk_ins=_appointments(
                Q(channel=Appointment.Channel.ONSITE) & ~Q(status=Appointment.Status.CANCELLED)
            ),
            doses_given=_total(SessionStock, Sum("doses_given")),
            vials_issued=_total(SessionStock, Sum("vials_issued")),
            vials_returned=_total(SessionStock, Sum("vials_returned")),
            # Wastage moves are negative (out of the store): shown as doses lost.
            open_vial_wastage=_total(
                StockMove,
                -Sum("doses"),
                Q(kind=StockMove.Kind.WASTAGE, reason=StockMove.Reason.OPEN_VIAL),
            ),
        )
        .annotate(
            stage=Case(
                When(status=Session.Status.CLOSED, then=Value("closed")),
                When(status=Session.Status.CANCELLED, then=Value("cancelled")),
                When(Q(checked_in__gt=0) | Q(doses_given__gt=0), then=Value("running")),
                default=Value("planned"),
            )
        )
        .order_by("facility__code", "vaccine__code", "created_at", "pk")
    )


@dataclass
class Progress:
    """A day's figures for a set of facilities: totals, per stage, per facility, per dose."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))
    stages: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("planned", "running", "closed", "cancelled"), 0)
    )
    facilities: list[dict[str, Any]] = field(default_factory=list)
    doses: list[dict[str, Any]] = field(default_factory=list)


def progress_on(facilities: QuerySet[Facility], on: date) -> Progress:
    """Return the day's progress at the facilities, in three queries."""
    progress = Progress()
    rows: dict[int, dict[str, Any]] = {}
    for session in sessions_on(facilities, on):
        progress.stages[session.stage] += 1  # type: ignore[attr-defined]  # an annotation
        row = rows.get(session.facility_id)
        if row is None:
            row = {"facility": session.facility, "sessions": 0, **dict.fromkeys(FIGURES, 0)}
            rows[session.facility_id] = row
        row["sessions"] += 1
        if session.status == Session.Status.CANCELLED:
            continue
        for name in FIGURES:
            value = getattr(session, name)
            row[name] += value
            progress.totals[name] += value
    progress.facilities = list(rows.values())
    progress.doses = list(
        Vaccination.objects.filter(
            facility__in=facilities, given_on=on, status=Vaccination.Status.VALID
        )
        .order_by("vaccine__code", "dose_number")
        .values("vaccine__code", "dose_number")
        .annotate(doses=Count("pk"))
    )
    return progress


def open_aefis(facilities: QuerySet[Facility]) -> QuerySet[Aefi]:
    """Return the open adverse events reported at the facilities, serious ones first."""
    rank = Case(
        When(severity=Aefi.Severity.SERIOUS, then=Value(0)),
        When(severity=Aefi.Severity.SEVERE, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Aefi.objects.filter(facility__in=facilities, status=Aefi.Status.OPEN)
        .select_related("beneficiary", "facility", "vaccination__vaccine")
        .annotate(rank=rank)
        .order_by("rank", "-reported_at", "pk")
    )


def age_at(aefi: Aefi) -> int:
    """Return the person's age in whole years at the onset (from the year when no date is known)."""
    person = aefi.beneficiary
    onset = aefi.onset_at.date()
    if person.birth_date is not None:
        born = person.birth_date
        return onset.year - born.year - ((onset.month, onset.day) < (born.month, born.day))
    return onset.year - person.birth_year
