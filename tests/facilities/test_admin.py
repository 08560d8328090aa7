"""National administrators manage facilities and staff in the Django admin, through the services."""

import pytest
from django.test import Client

from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Facility, StaffMembership
from vaxnet.geo.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = User.objects.create_superuser("root", password="a long admin password")
    client.force_login(user)
    return client


def test_it_creates_a_facility_through_the_service(admin_client: Client, hill: Region) -> None:
    response = admin_client.post(
        "/admin/facilities/facility/add/",
        {
            "code": "ts-admin",
            "names": '{"en": "Admin Clinic"}',
            "kind": "public",
            "region": hill.pk,
            "postal_code": "110001",
            "opens_at": "09:00",
            "closes_at": "17:00",
            "active": "on",
            "fees-TOTAL_FORMS": "0",
            "fees-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    facility = Facility.objects.get(code="TS-ADMIN")
    assert facility.region_path == hill.path
    assert AuditEvent.objects.filter(action="facility.create", object_id=str(facility.pk)).exists()


def test_it_shows_the_service_refusal_beside_the_field(admin_client: Client, hill: Region) -> None:
    response = admin_client.post(
        "/admin/facilities/facility/add/",
        {
            "code": "ts-bad",
            "names": '{"en": "Bad Clinic"}',
            "kind": "public",
            "region": hill.pk,
            "opens_at": "18:00",
            "closes_at": "09:00",
            "fees-TOTAL_FORMS": "0",
            "fees-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "The opening time must be before the closing time." in response.content.decode()
    assert not Facility.objects.filter(code="TS-BAD").exists()


def test_it_grants_a_role_through_the_service(admin_client: Client, hill_phc: Facility) -> None:
    nurse = User.objects.create_user("nurse")

    response = admin_client.post(
        "/admin/facilities/staffmembership/add/",
        {"user": nurse.pk, "role": "vaccinator", "facility": hill_phc.pk},
    )

    assert response.status_code == 302
    assert StaffMembership.objects.filter(user=nurse, role="vaccinator", facility=hill_phc).exists()
    assert AuditEvent.objects.filter(action="staff.grant").exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/geo/region/",
        "/admin/geo/postalcode/",
        "/admin/vaccines/vaccine/",
        "/admin/countries/country/",
        "/admin/facilities/facility/",
        "/admin/core/auditevent/",
        "/admin/booking/session/",
    ],
)
def test_it_lists_everything_for_administrators(admin_client: Client, url: str) -> None:
    assert admin_client.get(url).status_code == 200


def test_it_keeps_pack_data_read_only(admin_client: Client) -> None:
    assert admin_client.get("/admin/geo/region/add/").status_code == 403
    assert admin_client.get("/admin/vaccines/vaccine/add/").status_code == 403
