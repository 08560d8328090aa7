"""One chokepoint decides who may act on which facility or region."""

import pytest

from vaxnet.core.access import facility_for_staff, region_for_staff
from vaxnet.core.errors import NotFound
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility, Role, StaffMembership

pytestmark = pytest.mark.django_db


def test_it_gives_facility_staff_their_own_facility(vaccinator: User, hill_phc: Facility) -> None:
    assert facility_for_staff(vaccinator, hill_phc.public_id) == hill_phc


def test_it_hides_other_facilities_from_facility_staff(
    vaccinator: User, sea_hospital: Facility, river_clinic: Facility
) -> None:
    for other in (sea_hospital, river_clinic):
        with pytest.raises(NotFound):
            facility_for_staff(vaccinator, other.public_id)


def test_it_answers_missing_and_not_yours_the_same(
    vaccinator: User, sea_hospital: Facility
) -> None:
    with pytest.raises(NotFound) as missing:
        facility_for_staff(vaccinator, "NOSUCHID00")
    with pytest.raises(NotFound) as other:
        facility_for_staff(vaccinator, sea_hospital.public_id)

    assert (missing.value.code, missing.value.status, str(missing.value.message)) == (
        other.value.code,
        other.value.status,
        str(other.value.message),
    )


def test_it_gives_district_admins_every_facility_in_their_district(
    district_admin: User, hill_phc: Facility, river_clinic: Facility
) -> None:
    assert facility_for_staff(district_admin, hill_phc.public_id) == hill_phc
    with pytest.raises(NotFound):
        facility_for_staff(district_admin, river_clinic.public_id)


def test_it_gives_state_admins_their_whole_state(
    state_admin: User, hill_phc: Facility, river_clinic: Facility, sea_hospital: Facility
) -> None:
    assert facility_for_staff(state_admin, river_clinic.public_id) == river_clinic
    with pytest.raises(NotFound):
        facility_for_staff(state_admin, sea_hospital.public_id)


def test_it_gives_national_admins_the_country(national_admin: User, sea_hospital: Facility) -> None:
    assert facility_for_staff(national_admin, sea_hospital.public_id) == sea_hospital


def test_it_checks_the_role_when_asked(vaccinator: User, hill_phc: Facility) -> None:
    with pytest.raises(NotFound):
        facility_for_staff(vaccinator, hill_phc.public_id, roles=[Role.FACILITY_MANAGER])


def test_it_forgets_revoked_and_inactive_staff(vaccinator: User, hill_phc: Facility) -> None:
    StaffMembership.objects.filter(user=vaccinator).update(active=False)

    with pytest.raises(NotFound):
        facility_for_staff(vaccinator, hill_phc.public_id)


def test_it_scopes_regions_to_the_admin(district_admin: User, state_admin: User) -> None:
    assert region_for_staff(state_admin, "TS-N-HIL").code == "TS-N-HIL"
    assert region_for_staff(district_admin, "TS-N-HIL").code == "TS-N-HIL"
    with pytest.raises(NotFound):
        region_for_staff(district_admin, "TS-N")
    with pytest.raises(NotFound):
        region_for_staff(state_admin, "TS-S-SEA")
    with pytest.raises(NotFound):
        region_for_staff(state_admin, "NOWHERE")


def test_it_gives_anonymous_visitors_nothing(hill_phc: Facility) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotFound):
        facility_for_staff(AnonymousUser(), hill_phc.public_id)
