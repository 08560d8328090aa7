"""Facility managers plan sessions; the service refuses plans that cannot work."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from vaxnet.booking.models import Session
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_set_fee
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db


def _plan(facility: Facility, **overrides: object) -> Session:
    tomorrow = timezone.localdate() + timedelta(days=1)
    fields: dict[str, object] = {
        "by": None,
        "facility": facility,
        "on": tomorrow,
        "vaccine": Vaccine.objects.get(code="COVISHIELD"),
        "capacity": {1: (30, 10), 2: (10, 5)},
        "slots": [SlotSpec(time(9), time(11), 20), SlotSpec(time(11), time(13), 20)],
        "release_at": timezone.make_aware(datetime.combine(tomorrow, time(0))),
        "min_age_years": 18,
    }
    fields.update(overrides)
    return session_create(**fields)  # type: ignore[arg-type]


def test_it_plans_a_session_with_places_per_dose_and_slots(
    hill_phc: Facility, manager: User
) -> None:
    session = _plan(hill_phc, by=manager)

    assert session.dose_numbers == [1, 2]
    doses = {d.dose_number: (d.capacity_online, d.capacity_onsite) for d in session.doses.all()}
    assert doses == {1: (30, 10), 2: (10, 5)}
    assert session.available_online == 40
    assert [str(slot) for slot in session.slots.all()] == ["09:00–11:00", "11:00–13:00"]
    assert session.fee == Decimal("0")
    assert AuditEvent.objects.filter(action="session.create", actor=manager).exists()


def test_it_takes_the_private_fee_of_the_facility(river_clinic: Facility) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    facility_set_fee(by=None, facility=river_clinic, vaccine=vaccine, amount=Decimal("780"))

    assert _plan(river_clinic).fee == Decimal("780.00")


def test_it_allows_an_on_site_only_session_without_slots(hill_phc: Facility) -> None:
    session = _plan(hill_phc, capacity={1: (0, 50)}, slots=[])

    assert session.available_online == 0
    assert session.doses.get().capacity_onsite == 50


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"capacity": {}}, "dose_numbers"),
        ({"capacity": {4: (10, 0)}}, "dose_numbers"),
        ({"capacity": {1: (0, 0)}}, "capacity"),
        ({"capacity": {1: (-1, 5)}}, "capacity"),
        ({"slots": []}, "slots_missing"),
        ({"slots": [SlotSpec(time(9), time(11), 40)], "capacity": {1: (30, 0)}}, "slot_capacity"),
        ({"slots": [SlotSpec(time(11), time(9), 40)]}, "slot_invalid"),
        (
            {"slots": [SlotSpec(time(9), time(12), 20), SlotSpec(time(11), time(13), 20)]},
            "slot_overlap",
        ),
        (
            {"slots": [SlotSpec(time(7), time(9), 20), SlotSpec(time(9), time(11), 20)]},
            "slot_hours",
        ),
        (
            {"slots": [SlotSpec(time(15), time(18), 20), SlotSpec(time(9), time(11), 20)]},
            "slot_hours",
        ),
        ({"min_age_years": 45, "max_age_years": 18}, "age_window"),
        ({"on": timezone.localdate() - timedelta(days=1)}, "session_in_past"),
        ({"release_at": timezone.now() + timedelta(days=3)}, "release_after_session"),
    ],
)
def test_it_refuses_a_plan_that_cannot_work(
    hill_phc: Facility, overrides: dict[str, object], code: str
) -> None:
    with pytest.raises(DomainError) as info:
        _plan(hill_phc, **overrides)

    assert info.value.code == code
    assert not Session.objects.filter(facility=hill_phc).exists()


def test_it_refuses_an_inactive_facility_or_a_withdrawn_vaccine(hill_phc: Facility) -> None:
    Vaccine.objects.filter(code="COVAXIN").update(active=False)
    with pytest.raises(DomainError, match="vaccine_unavailable"):
        _plan(hill_phc, vaccine=Vaccine.objects.get(code="COVAXIN"), capacity={1: (40, 0)})

    Facility.objects.filter(pk=hill_phc.pk).update(active=False)
    hill_phc.refresh_from_db()
    with pytest.raises(DomainError, match="facility_inactive"):
        _plan(hill_phc)
