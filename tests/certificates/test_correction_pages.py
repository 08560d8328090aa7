"""Corrections through the pages and the v1 API: citizens ask and follow, admins decide."""

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path

import vaxnet.urls
from vaxnet.api.v1_auth import api_token_issue, token_text
from vaxnet.booking.models import Session
from vaxnet.certificates.models import Certificate, CorrectionRequest
from vaxnet.core.models import User
from vaxnet.notifications.models import Message
from vaxnet.people.auth import SESSION_KEY
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch

from ..stock.ledger_helpers import signed_in
from .conftest import give_dose

# The citizen pages as the lead mounts them (at /account/corrections/), for these tests.
_mounted = any(
    getattr(pattern, "namespace", None) == "citizen_corrections"
    for pattern in vaxnet.urls.urlpatterns
)
urlpatterns: list[Any] = list(vaxnet.urls.urlpatterns)
if not _mounted:
    urlpatterns.insert(
        0, path("account/corrections/", include("vaxnet.certificates.citizen_correction_urls"))
    )

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("clock"),
    pytest.mark.urls(__name__),
]


@pytest.fixture
def dosed(asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User) -> Beneficiary:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)
    return asha


def _citizen_client(account: Account) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = account.pk
    session.save()
    return client


def _ask(account: Account, person: Beneficiary, **values: str) -> CorrectionRequest:
    from vaxnet.certificates.corrections import correction_request

    return correction_request(
        account=account,
        beneficiary=person,
        field=values.get("field", "name"),
        value=values.get("value", "Asha Devi"),
        reason=values.get("reason", "Surname left out"),
    )


# --- Citizen pages --------------------------------------------------------------------------


def test_a_citizen_asks_for_a_correction_and_sees_its_status(
    dosed: Beneficiary, citizen: Account
) -> None:
    client = _citizen_client(citizen)
    home = client.get("/account/corrections/")
    assert home.status_code == 200
    form_url = f"/account/corrections/{dosed.reference}/name/new/"
    assert form_url.encode() in home.content

    assert client.get(form_url).status_code == 200
    refused = client.post(form_url, {"value": "Asha Devi", "reason": "  "})
    assert refused.status_code == 422
    assert b'id="id_reason_error"' in refused.content
    assert not CorrectionRequest.objects.exists()

    sent = client.post(form_url, {"value": "Asha Devi", "reason": "Surname left out"})

    assert sent.status_code == 302 and sent["Location"] == "/account/corrections/"
    asked = CorrectionRequest.objects.get()
    assert (asked.field, asked.requested_value, asked.status) == ("name", "Asha Devi", "pending")
    page = client.get("/account/corrections/")
    assert b"Asha Devi" in page.content
    assert str(asked.get_status_display()).encode() in page.content

    again = client.post(form_url, {"value": "Asha D", "reason": "again"})
    assert again.status_code == 409

    withdrawn = client.post(f"/account/corrections/requests/{asked.public_id}/withdraw/")
    assert withdrawn.status_code == 302
    asked.refresh_from_db()
    assert asked.status == "withdrawn"


def test_an_id_number_refused_is_not_shown_again(dosed: Beneficiary, citizen: Account) -> None:
    client = _citizen_client(citizen)
    url = f"/account/corrections/{dosed.reference}/id_document/new/"

    refused = client.post(url, {"id_type": "passport", "value": "A12345", "reason": "new"})

    assert refused.status_code == 400
    assert b"A12345" not in refused.content
    assert b'id="id_value_error"' in refused.content
    sent = client.post(url, {"id_type": "passport", "value": "A1234567", "reason": "new"})
    assert sent.status_code == 302
    assert CorrectionRequest.objects.get().requested_value == "XXXX XXXX 4567"


def test_citizen_pages_need_the_member_and_a_sign_in(
    dosed: Beneficiary, citizen: Account, country: Any
) -> None:
    anonymous = Client().get("/account/corrections/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/account/sign-in/")
    stranger = Account.objects.create(country=country, phone="+919822222222", language="en")
    client = _citizen_client(stranger)
    assert client.get(f"/account/corrections/{dosed.reference}/name/new/").status_code == 404
    assert client.get(f"/account/corrections/{dosed.reference}/address/new/").status_code == 404
    asked = _ask(citizen, dosed)
    assert (
        client.post(f"/account/corrections/requests/{asked.public_id}/withdraw/").status_code == 404
    )


# --- Staff pages ----------------------------------------------------------------------------


def test_a_district_admin_sees_the_queue_and_approves(
    dosed: Beneficiary, citizen: Account, district_admin: User
) -> None:
    asked = _ask(citizen, dosed)
    client = signed_in(district_admin)

    queue = client.get("/staff/corrections/")
    assert queue.status_code == 200
    assert f"/staff/corrections/{asked.public_id}/".encode() in queue.content
    partial = client.get("/staff/corrections/", {"status": "approved"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and asked.public_id.encode() not in partial.content

    detail = client.get(f"/staff/corrections/{asked.public_id}/")
    assert detail.status_code == 200
    for shown in (b"Asha", b"Asha Devi", b"Surname left out"):
        assert shown in detail.content

    answer = client.post(f"/staff/corrections/{asked.public_id}/", {"action": "approve"})

    assert answer.status_code == 302 and answer["Location"] == "/staff/corrections/"
    dosed.refresh_from_db()
    assert dosed.name == "Asha Devi"
    assert list(Certificate.objects.filter(beneficiary=dosed).values_list("status", flat=True)) == [
        "revoked",
        "valid",
    ]
    assert (
        Message.objects.filter(template="correction_approved", recipient=citizen.phone).count() == 1
    )


def test_a_rejection_needs_a_note_and_htmx_gets_the_form_back(
    dosed: Beneficiary, citizen: Account, district_admin: User
) -> None:
    asked = _ask(citizen, dosed)
    client = signed_in(district_admin, csrf=True)
    url = f"/staff/corrections/{asked.public_id}/"
    page = client.get(url)
    token = page.cookies["csrftoken"].value

    assert client.post(url, {"action": "reject"}).status_code == 403  # no CSRF token
    refused = client.post(
        url, {"action": "reject", "note": "", "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 422
    assert b"<html" not in refused.content and b'id="id_note_error"' in refused.content
    done = client.post(
        url,
        {"action": "reject", "note": "Card says Asha", "csrfmiddlewaretoken": token},
        HTTP_HX_REQUEST="true",
    )
    assert done.status_code == 200 and done["HX-Redirect"] == "/staff/corrections/"
    asked.refresh_from_db()
    assert (asked.status, asked.decision_note) == ("rejected", "Card says Asha")


def test_an_admin_out_of_scope_gets_404(
    dosed: Beneficiary, citizen: Account, outsider: User, manager: User
) -> None:
    from vaxnet.facilities.models import Role, StaffMembership
    from vaxnet.geo.models import Region

    asked = _ask(citizen, dosed)
    river = User.objects.create_user(username="river", password="correct horse battery staple")
    StaffMembership.objects.create(
        user=river, role=Role.DISTRICT_ADMIN, region=Region.objects.get(code="TS-N-RIV")
    )
    url = f"/staff/corrections/{asked.public_id}/"
    for user in (river, outsider, manager):
        client = signed_in(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "approve"}).status_code == 404
        assert asked.public_id.encode() not in client.get("/staff/corrections/").content
    asked.refresh_from_db()
    assert asked.status == "pending"
    assert Client().get(url).status_code == 302  # to the staff sign-in


# --- API --------------------------------------------------------------------------------------


def _bearer(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_text(api_token_issue(account=account).public_id)}"}


def _post(client: Client, url: str, body: dict, **headers: str) -> Any:
    return client.post(
        f"/api/v1/{url}", json.dumps(body), content_type="application/json", headers=headers
    )


def test_the_api_asks_lists_and_decides(
    dosed: Beneficiary, citizen: Account, district_admin: User, outsider: User
) -> None:
    auth = _bearer(citizen)
    url = f"beneficiaries/{dosed.reference}/corrections"
    client = Client()

    refused = _post(client, url, {"field": "sex", "value": "x", "reason": "r"}, **auth)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "sex_invalid"
    missing = _post(client, url, {"field": "sex", "value": "male"}, **auth)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_input"
    assert _post(client, url, {"field": "sex", "value": "male", "reason": "r"}).status_code == 401

    created = _post(client, url, {"field": "sex", "value": "male", "reason": "Typed wrong"}, **auth)

    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("beneficiary", "field", "current_value", "requested_value")} == {
        "beneficiary": dosed.reference,
        "field": "sex",
        "current_value": "female",
        "requested_value": "male",
    }
    assert body["status"] == "pending"
    twice = _post(client, url, {"field": "sex", "value": "male", "reason": "again"}, **auth)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "correction_pending"
    listed = client.get(f"/api/v1/{url}", headers=auth).json()
    assert [c["id"] for c in listed["corrections"]] == [body["id"]]

    assert signed_in(outsider).get("/api/v1/corrections").json() == {"corrections": []}
    admin = signed_in(district_admin)
    queue = admin.get("/api/v1/corrections", {"status": "pending"}).json()
    assert [(c["id"], c["name"]) for c in queue["corrections"]] == [(body["id"], "Asha")]
    decision = f"corrections/{body['id']}/decision"
    out_of_scope = _post(signed_in(outsider), decision, {"approve": True})
    assert out_of_scope.status_code == 404
    assert out_of_scope.json()["error"]["code"] == "not_found"

    decided = _post(admin, decision, {"approve": True, "note": "ok"})

    assert decided.status_code == 200
    assert (decided.json()["status"], decided.json()["decision_note"]) == ("approved", "ok")
    dosed.refresh_from_db()
    assert dosed.sex == "male"
    late = _post(admin, decision, {"approve": False, "note": "no"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "correction_decided"


def test_the_api_refuses_another_accounts_member(dosed: Beneficiary, country: Any) -> None:
    stranger = Account.objects.create(country=country, phone="+919822222222", language="en")
    answer = _post(
        Client(),
        f"beneficiaries/{dosed.reference}/corrections",
        {"field": "name", "value": "X", "reason": "r"},
        **_bearer(stranger),
    )
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_the_staff_page_shows_values_as_people_read_them(
    dosed: Beneficiary, citizen: Account, district_admin: User
) -> None:
    from vaxnet.certificates.corrections import correction_request

    sex = _ask(citizen, dosed, field="sex", value="male")
    document = correction_request(
        account=citizen,
        beneficiary=dosed,
        field="id_document",
        value="A1234567",
        reason="New passport",
        id_type="passport",
    )
    client = signed_in(district_admin)

    shown = client.get(f"/staff/corrections/{sex.public_id}/").content.decode()
    assert "<dd>Female</dd>" in shown and "<dd>Male</dd>" in shown
    shown = client.get(f"/staff/corrections/{document.public_id}/").content.decode()
    assert f"<dd>Aadhaar card, {dosed.masked_id()}</dd>" in shown
    assert "<dd>Passport, XXXX XXXX 4567</dd>" in shown
    assert "A1234567" not in shown
