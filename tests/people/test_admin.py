"""Administrators see accounts and beneficiaries read-only, with masked numbers, audited."""

import pytest
from django.test import Client

from vaxnet.core.models import AuditEvent, User
from vaxnet.people.models import Account, Beneficiary, OtpChallenge, Sex
from vaxnet.people.services import beneficiary_add

from .conftest import CITIZEN_PHONE, aadhaar

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = User.objects.create_superuser("root", password="a long admin password")
    client.force_login(user)
    return client


@pytest.fixture
def ashas(citizen: Account) -> Beneficiary:
    return beneficiary_add(
        account=citizen,
        name="Asha Devi",
        sex=Sex.FEMALE,
        birth_year=1961,
        id_type_code="aadhaar",
        id_number=aadhaar(1),
    )


def test_it_lists_beneficiaries_with_masked_ids_only(
    admin_client: Client, ashas: Beneficiary
) -> None:
    response = admin_client.get("/admin/people/beneficiary/")

    page = response.content.decode()
    assert response.status_code == 200
    assert ashas.reference in page
    assert f"XXXX XXXX {aadhaar(1)[-4:]}" in page
    assert aadhaar(1) not in page
    assert ashas.id_hash not in page


def test_it_shows_a_beneficiary_without_the_hash_and_audits_the_look(
    admin_client: Client, ashas: Beneficiary
) -> None:
    response = admin_client.get(f"/admin/people/beneficiary/{ashas.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert ashas.id_hash not in page
    assert aadhaar(1) not in page
    assert CITIZEN_PHONE not in page
    event = AuditEvent.objects.get(action="admin.view", object_id=str(ashas.pk))
    assert event.actor is not None and event.actor.username == "root"


def test_it_shows_accounts_with_masked_numbers(
    admin_client: Client, citizen: Account, ashas: Beneficiary
) -> None:
    listing = admin_client.get("/admin/people/account/").content.decode()
    detail = admin_client.get(f"/admin/people/account/{citizen.pk}/change/").content.decode()

    for page in (listing, detail):
        assert CITIZEN_PHONE not in page
        assert "+91XXXXXX3210" in page
    assert ashas.reference in detail
    assert ashas.id_hash not in detail


def test_it_never_shows_an_otp_hash(admin_client: Client, citizen: Account) -> None:
    challenge = OtpChallenge.objects.get()

    listing = admin_client.get("/admin/people/otpchallenge/").content.decode()
    detail = admin_client.get(f"/admin/people/otpchallenge/{challenge.pk}/change/").content.decode()

    for page in (listing, detail):
        assert challenge.code_hash not in page
        assert CITIZEN_PHONE not in page


@pytest.mark.parametrize("model", ["account", "beneficiary", "otpchallenge"])
def test_it_lets_nobody_add_change_or_delete_here(
    admin_client: Client, ashas: Beneficiary, model: str
) -> None:
    obj = {"account": ashas.account, "beneficiary": ashas, "otpchallenge": None}[model]
    pk = obj.pk if obj is not None else OtpChallenge.objects.get().pk

    assert admin_client.get(f"/admin/people/{model}/add/").status_code == 403
    assert admin_client.post(f"/admin/people/{model}/{pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/people/{model}/{pk}/change/", {}).status_code == 403
