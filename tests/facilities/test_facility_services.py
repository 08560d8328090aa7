"""Facility writes go through services that refuse bad data and leave an audit trail."""

from datetime import time
from decimal import Decimal

import pytest

from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.facilities.services import (
    facility_create,
    facility_remove_fee,
    facility_set_fee,
    facility_update,
    staff_membership_grant,
    staff_membership_revoke,
)
from vaxnet.geo.models import Region
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db


def _create(region: Region, **overrides: object) -> Facility:
    fields: dict[str, object] = {
        "code": "ts-new",
        "names": {"en": "New Clinic", "hi": "नया क्लिनिक"},
        "kind": "private",
        "region": region,
        "postal_code": "110001",
        "latitude": Decimal("28.6"),
        "longitude": Decimal("77.2"),
        "opens_at": time(9),
        "closes_at": time(17),
    }
    fields.update(overrides)
    return facility_create(by=None, **fields)  # type: ignore[arg-type]


def test_it_creates_a_facility_with_an_opaque_id_and_an_audit_event(
    hill: Region, manager: User
) -> None:
    facility = facility_create(
        by=manager, code="ts-new", names={"en": "New Clinic"}, kind="public", region=hill
    )

    assert facility.code == "TS-NEW"
    assert facility.region_path == hill.path
    assert len(facility.public_id) == 10 and not facility.public_id.isdigit()
    event = AuditEvent.objects.get(action="facility.create", object_id=str(facility.pk))
    assert event.actor == manager


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"kind": "charity"}, "facility_kind"),
        ({"postal_code": "12"}, "postal_code_format"),
        ({"latitude": Decimal("95")}, "latitude_range"),
        ({"longitude": None}, "location_incomplete"),
        ({"opens_at": time(18)}, "hours_order"),
        ({"names": {"en": " "}}, "facility_name"),
    ],
)
def test_it_refuses_bad_facility_data(
    hill: Region, overrides: dict[str, object], code: str
) -> None:
    with pytest.raises(DomainError) as info:
        _create(hill, **overrides)

    assert info.value.code == code
    assert not Facility.objects.filter(code="TS-NEW").exists()


def test_it_refuses_a_facility_at_country_level(country: object) -> None:
    with pytest.raises(DomainError, match="region_too_broad"):
        _create(Region.objects.get(code="TEST"))


def test_it_refuses_a_duplicate_code_without_half_writing(hill: Region) -> None:
    _create(hill)
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as info:
        _create(hill)

    assert info.value.code == "facility_code_taken"
    assert AuditEvent.objects.count() == events


def test_it_updates_only_what_is_given_and_records_before_and_after(hill_phc: Facility) -> None:
    facility_update(by=None, facility=hill_phc, address="2 New Road")

    hill_phc.refresh_from_db()
    assert hill_phc.address == "2 New Road"
    assert hill_phc.opens_at == time(9)
    event = AuditEvent.objects.get(action="facility.update")
    assert event.data == {"before": {"address": "1 Main Road"}, "after": {"address": "2 New Road"}}


def test_it_refuses_an_update_that_breaks_the_hours(hill_phc: Facility) -> None:
    with pytest.raises(DomainError, match="hours_order"):
        facility_update(by=None, facility=hill_phc, closes_at=time(8))

    hill_phc.refresh_from_db()
    assert hill_phc.closes_at == time(17)


def test_it_sets_fees_at_private_facilities_only(
    river_clinic: Facility, hill_phc: Facility
) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")

    facility_set_fee(by=None, facility=river_clinic, vaccine=vaccine, amount=Decimal("780"))
    facility_set_fee(by=None, facility=river_clinic, vaccine=vaccine, amount=Decimal("700"))

    assert river_clinic.fee_for(vaccine) == Decimal("700")
    assert hill_phc.fee_for(vaccine) == Decimal("0")
    with pytest.raises(DomainError, match="fee_public"):
        facility_set_fee(by=None, facility=hill_phc, vaccine=vaccine, amount=Decimal("1"))
    with pytest.raises(DomainError, match="fee_negative"):
        facility_set_fee(by=None, facility=river_clinic, vaccine=vaccine, amount=Decimal("-1"))


def test_it_grants_roles_in_the_right_kind_of_scope(hill_phc: Facility, hill: Region) -> None:
    user = User.objects.create_user("nurse")

    membership = staff_membership_grant(by=None, user=user, role=Role.VACCINATOR, facility=hill_phc)

    assert membership.scope_path == hill.path
    with pytest.raises(DomainError, match="scope_facility"):
        staff_membership_grant(by=None, user=user, role=Role.VERIFIER, region=hill)
    with pytest.raises(DomainError, match="scope_region"):
        staff_membership_grant(by=None, user=user, role=Role.DISTRICT_ADMIN, facility=hill_phc)
    with pytest.raises(DomainError, match="scope_one"):
        staff_membership_grant(by=None, user=user, role=Role.STORE_KEEPER)
    with pytest.raises(DomainError, match="role_held"):
        staff_membership_grant(by=None, user=user, role=Role.VACCINATOR, facility=hill_phc)


def test_it_lets_store_keepers_work_for_a_facility_or_a_region(
    hill_phc: Facility, hill: Region
) -> None:
    user = User.objects.create_user("keeper")

    staff_membership_grant(by=None, user=user, role=Role.STORE_KEEPER, facility=hill_phc)
    staff_membership_grant(by=None, user=user, role=Role.STORE_KEEPER, region=hill)

    assert StaffMembership.objects.filter(user=user).count() == 2


def test_it_revokes_a_membership_but_keeps_it_on_record(vaccinator: User) -> None:
    membership = StaffMembership.objects.get(user=vaccinator)

    staff_membership_revoke(by=None, membership=membership)

    membership.refresh_from_db()
    assert membership.active is False
    assert AuditEvent.objects.filter(action="staff.revoke", object_id=str(membership.pk)).exists()


def test_it_removes_a_fee_with_an_audit_event(river_clinic: Facility) -> None:
    vaccine = Vaccine.objects.get(code="COVAXIN")
    fee = facility_set_fee(by=None, facility=river_clinic, vaccine=vaccine, amount=Decimal("1410"))

    facility_remove_fee(by=None, fee=fee)

    assert not river_clinic.fees.exists()
    event = AuditEvent.objects.get(action="facility.remove_fee")
    assert event.data == {"vaccine": "COVAXIN", "amount": "1410.00"}
