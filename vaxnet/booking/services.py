"""Every write to sessions and their slots."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import pairwise

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.models import Session, SessionDose, Slot
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.vaccines.models import Vaccine


@dataclass(frozen=True)
class SlotSpec:
    """A time slot to create: its window and its share of the capacity."""

    starts_at: time
    ends_at: time
    capacity: int


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
    return session
