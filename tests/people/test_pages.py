"""Citizen pages: sign in with the code from the SMS, then register and manage family members."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from vaxnet.countries.models import Country
from vaxnet.notifications.models import Message
from vaxnet.people.auth import SESSION_KEY
from vaxnet.people.models import Account, Beneficiary, Sex
from vaxnet.people.services import beneficiary_add

from .conftest import CITIZEN_PHONE, NEIGHBOUR_PHONE, aadhaar, sms_code

pytestmark = pytest.mark.django_db

SIGN_IN = "/account/sign-in/"
CODE = "/account/sign-in/code/"
RESEND = "/account/sign-in/resend/"


def _text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def ask_for_code(client: Client, phone: str = CITIZEN_PHONE, next_url: str = "") -> str:
    """Ask for a sign-in code on the page; return the code from the SMS sent for it."""
    response = client.post(SIGN_IN, {"phone": phone, "next": next_url})
    assert response.status_code == 302, _text(response)
    return sms_code(phone)


def sign_in_on_pages(client: Client, phone: str = CITIZEN_PHONE) -> Account:
    """Sign in the way a citizen does on the pages: number, SMS, code."""
    code = ask_for_code(client, phone)
    response = client.post(CODE, {"code": code})
    assert response.status_code == 302, _text(response)
    return Account.objects.get(phone=phone)


def add_member(account: Account, seed: int = 1, name: str = "Asha Devi") -> Beneficiary:
    return beneficiary_add(
        account=account,
        name=name,
        sex=Sex.FEMALE,
        birth_year=1961,
        id_type_code="aadhaar",
        id_number=aadhaar(seed),
    )


# --- Sign-in ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "label"), [("en", "Mobile number"), ("hi", 'lang="hi"'), ("ta", 'lang="ta"')]
)
def test_it_shows_the_sign_in_page_in_every_pack_language(
    client: Client, language: str, label: str
) -> None:
    response = client.get(SIGN_IN, headers={"Accept-Language": language})

    assert response.status_code == 200
    assert label in _text(response)
    assert 'id="id_phone"' in _text(response)
    assert 'autocomplete="tel"' in _text(response)


def test_it_signs_in_with_the_code_from_the_sms(client: Client) -> None:
    response = client.post(SIGN_IN, {"phone": "98765 43210", "next": "/book/"})

    assert response.status_code == 302
    assert response["Location"].startswith(CODE)
    page = _text(client.get(response["Location"]))
    assert "+91XXXXXX3210" in page
    assert CITIZEN_PHONE not in page
    assert "It is valid for 3 minutes." in page
    assert 'autocomplete="one-time-code"' in page
    anonymous_key = client.session.session_key

    response = client.post(CODE, {"code": sms_code(CITIZEN_PHONE), "next": "/book/"})

    assert response.status_code == 302
    assert response["Location"] == "/book/"
    account = Account.objects.get(phone=CITIZEN_PHONE)
    assert client.session[SESSION_KEY] == account.pk
    assert client.session.session_key != anonymous_key  # rotated against fixation
    assert "My account" in _text(client.get("/"))


def test_it_sends_the_code_in_the_language_of_the_page(client: Client) -> None:
    client.post(SIGN_IN, {"phone": CITIZEN_PHONE}, headers={"Accept-Language": "ta"})

    assert Message.objects.get(recipient=CITIZEN_PHONE, template="otp").language == "ta"


def test_it_goes_to_the_account_after_sign_in_and_never_off_site(client: Client) -> None:
    code = ask_for_code(client)

    response = client.post(CODE, {"code": code, "next": "https://evil.example/"})

    assert response["Location"] == "/account/"


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "Enter a valid mobile number."),
        ("call me", "Enter a valid mobile number."),
        ("+14155552671", "Enter a mobile number from Testland."),
    ],
)
def test_it_refuses_a_bad_number_beside_the_field(client: Client, phone: str, message: str) -> None:
    response = client.post(SIGN_IN, {"phone": phone})

    text = _text(response)
    assert response.status_code == 400
    assert f'<small id="id_phone_error" class="error">{message}</small>' in text
    assert 'aria-invalid="true"' in text
    assert 'aria-describedby="id_phone_help id_phone_error"' in text
    assert not Message.objects.exists()


def test_it_shows_the_cool_down_as_a_message_not_an_error_page(client: Client) -> None:
    ask_for_code(client)

    response = client.post(SIGN_IN, {"phone": CITIZEN_PHONE})

    assert response.status_code == 429
    assert "Please wait 30 seconds before asking for another code." in _text(response)
    assert response["Retry-After"] == "30"


def test_it_refuses_a_wrong_code_and_says_how_many_tries_are_left(client: Client) -> None:
    code = ask_for_code(client)

    response = client.post(CODE, {"code": _wrong(code)})

    text = _text(response)
    assert response.status_code == 400
    assert "This code is not correct. You can try 4 more times." in text
    assert 'aria-describedby="id_code_error"' in text
    assert SESSION_KEY not in client.session


def test_it_refuses_an_expired_code(client: Client) -> None:
    code = ask_for_code(client)

    with time_machine.travel(timezone.now() + timedelta(minutes=3, seconds=1)):
        response = client.post(CODE, {"code": code})

    assert response.status_code == 400
    assert "This code has expired. Ask for a new one." in _text(response)


def test_it_locks_the_code_after_five_wrong_tries(client: Client) -> None:
    code = ask_for_code(client)
    for _try in range(5):
        client.post(CODE, {"code": _wrong(code)})

    response = client.post(CODE, {"code": code})

    assert response.status_code == 400
    assert "Too many wrong codes. Ask for a new one." in _text(response)
    assert SESSION_KEY not in client.session


def test_it_refuses_a_new_code_within_the_cool_down_with_the_seconds_to_wait(
    client: Client,
) -> None:
    ask_for_code(client)

    response = client.post(RESEND, {})

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    text = _text(response)
    assert "Please wait 30 seconds before asking for another code." in text
    assert 'aria-describedby="id_resend_help id_resend_error"' in text
    assert Message.objects.filter(template="otp").count() == 1


def test_it_sends_a_new_code_after_the_cool_down_and_only_that_one_works(client: Client) -> None:
    first = ask_for_code(client)

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        response = client.post(RESEND, {})
        assert response.status_code == 302
        page = _text(client.get(response["Location"]))
        assert "A new code is on its way." in page
        assert "ask for a new code in 30 seconds" in page
        second = sms_code(CITIZEN_PHONE)
        if second != first:
            assert client.post(CODE, {"code": first}).status_code == 400
        assert client.post(CODE, {"code": second}).status_code == 302


def test_it_sends_the_code_page_without_a_sign_in_back_to_the_start(client: Client) -> None:
    response = client.get(CODE)

    assert response.status_code == 302
    assert response["Location"].startswith(SIGN_IN)
    assert client.post(RESEND, {}).status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/account/", "/account/members/add/", "/book/booked/?a=X", "/account/appointments/X/cancel/"],
)
def test_it_sends_visitors_to_sign_in_first_and_back_afterwards(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(SIGN_IN + "?next=")
    code = ask_for_code(client, next_url=path)
    assert client.post(CODE, {"code": code, "next": path})["Location"] == path


def test_it_tells_htmx_to_load_the_sign_in_page(client: Client) -> None:
    response = client.get("/account/", headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == SIGN_IN + "?next=%2Faccount%2F"


def test_it_signs_out_with_a_post_only(client: Client) -> None:
    sign_in_on_pages(client)

    assert client.get("/account/sign-out/").status_code == 405
    response = client.post("/account/sign-out/")

    assert response["Location"] == SIGN_IN
    assert SESSION_KEY not in client.session
    assert "You have signed out." in _text(client.get(SIGN_IN))
    assert client.get("/account/").status_code == 302


def test_it_signs_out_a_closed_account(client: Client) -> None:
    account = sign_in_on_pages(client)
    Account.objects.filter(pk=account.pk).update(active=False)

    assert client.get("/account/").status_code == 302


# --- The account and its members ------------------------------------------------------------


def test_it_lists_the_members_with_masked_ids_and_the_packs_limit(client: Client) -> None:
    account = sign_in_on_pages(client)
    asha = add_member(account)
    add_member(account, 2, name="Ravi Kumar")

    text = _text(client.get("/account/"))

    assert "2 of 4 members registered on this number." in text
    assert "Asha Devi" in text and "Ravi Kumar" in text
    assert asha.reference in text
    assert f"XXXX XXXX {aadhaar(1)[-4:]}" in text
    assert aadhaar(1) not in text
    assert "+91XXXXXX3210" in text
    assert "No appointments yet." in text


@pytest.mark.parametrize(("language", "heading"), [("hi", 'lang="hi"'), ("ta", 'lang="ta"')])
def test_it_shows_the_account_in_every_pack_language(
    client: Client, language: str, heading: str
) -> None:
    sign_in_on_pages(client)

    response = client.get("/account/", headers={"Accept-Language": language})

    assert response.status_code == 200
    assert heading in _text(response)


def test_it_adds_a_member_with_the_packs_id_documents(client: Client) -> None:
    account = sign_in_on_pages(client)
    form = _text(client.get("/account/members/add/"))
    assert '<option value="aadhaar">Aadhaar card</option>' in form
    assert '<option value="passport">Passport</option>' in form

    response = client.post(
        "/account/members/add/",
        {
            "name": "Asha Devi",
            "sex": "female",
            "birth_year": "1961",
            "id_type": "aadhaar",
            "id_number": aadhaar(1),
        },
    )

    assert response.status_code == 302
    member = Beneficiary.objects.get(account=account)
    assert member.name == "Asha Devi" and member.birth_year == 1961
    page = _text(client.get(response["Location"]))
    assert f"Asha Devi is registered, with the reference number {member.reference}." in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": " "}, "name", "Enter the person&#x27;s name."),
        ({"sex": ""}, "sex", "Choose male, female or other."),
        ({"birth_year": "nineteen"}, "birth_year", "Enter a year of birth between 1900 and"),
        ({"id_type": "ration"}, "id_type", "Choose one of the ID documents listed."),
        ({"id_number": "12345"}, "id_number", "This is not a valid Aadhaar card number."),
        (
            {"id_number": aadhaar(1)[:-1] + str((int(aadhaar(1)[-1]) + 1) % 10)},
            "id_number",
            "This Aadhaar card number has a wrong check digit; please check it.",
        ),
    ],
)
def test_it_shows_each_refusal_beside_its_field(
    client: Client, changes: dict[str, str], field: str, message: str
) -> None:
    sign_in_on_pages(client)
    form = {
        "name": "Asha Devi",
        "sex": "female",
        "birth_year": "1961",
        "id_type": "aadhaar",
        "id_number": aadhaar(1),
        **changes,
    }

    response = client.post("/account/members/add/", form)

    text = _text(response)
    assert response.status_code == 400
    assert f'<small id="id_{field}_error" class="error">{message}' in text
    assert f'href="#id_{field}"' in text  # the summary links to the field
    assert not Beneficiary.objects.exists()


def test_it_keeps_the_typed_details_but_not_the_id_number_after_a_refusal(client: Client) -> None:
    sign_in_on_pages(client)

    response = client.post(
        "/account/members/add/",
        {"name": "Asha Devi", "sex": "female", "birth_year": "1800", "id_type": "passport"},
    )

    text = _text(response)
    assert 'value="Asha Devi"' in text
    assert 'value="female" checked' in text
    assert '<option value="passport" selected>' in text


def test_it_refuses_a_member_past_the_packs_limit(client: Client) -> None:
    account = sign_in_on_pages(client)
    for seed in range(1, 5):
        add_member(account, seed, name=f"Member {seed}")
    page = _text(client.get("/account/"))
    assert "4 of 4 members" in page
    assert "This number has registered as many people as it may." in page

    response = client.post(
        "/account/members/add/",
        {
            "name": "One Too Many",
            "sex": "male",
            "birth_year": "1990",
            "id_type": "aadhaar",
            "id_number": aadhaar(5),
        },
    )

    assert response.status_code == 400
    assert "An account can register at most 4 people." in _text(response)


def test_it_refuses_an_id_document_registered_elsewhere_without_saying_where(
    client: Client, country: Country
) -> None:
    from .conftest import sign_in

    add_member(sign_in(country, NEIGHBOUR_PHONE, client="198.51.100.20"))
    sign_in_on_pages(client)

    response = client.post(
        "/account/members/add/",
        {
            "name": "Asha",
            "sex": "female",
            "birth_year": "1961",
            "id_type": "aadhaar",
            "id_number": aadhaar(1),
        },
    )

    assert response.status_code == 400
    assert "This ID document is already registered." in _text(response)


def test_it_corrects_a_members_details(client: Client) -> None:
    account = sign_in_on_pages(client)
    member = add_member(account)
    form = _text(client.get(f"/account/members/{member.reference}/edit/"))
    assert 'value="Asha Devi"' in form
    assert f"Leave it empty to keep the number XXXX XXXX {aadhaar(1)[-4:]}." in form

    response = client.post(
        f"/account/members/{member.reference}/edit/",
        {"name": "Asha Rani", "sex": "female", "birth_year": "1962", "id_type": "aadhaar"},
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.name, member.birth_year) == ("Asha Rani", 1962)
    assert "The details of Asha Rani are saved." in _text(client.get("/account/"))


def test_it_asks_for_the_number_when_the_document_type_changes(client: Client) -> None:
    member = add_member(sign_in_on_pages(client))

    response = client.post(
        f"/account/members/{member.reference}/edit/",
        {"name": "Asha Devi", "sex": "female", "birth_year": "1961", "id_type": "passport"},
    )

    assert response.status_code == 400
    assert "Enter the number of the new ID document." in _text(response)
    assert 'aria-describedby="id_id_number_help id_id_number_error"' in _text(response)


def test_it_shows_the_services_refusal_after_the_first_dose(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = add_member(sign_in_on_pages(client))
    monkeypatch.setattr(Beneficiary, "has_doses", lambda self: True)

    edit = client.post(
        f"/account/members/{member.reference}/edit/",
        {"name": "Asha Rani", "sex": "female", "birth_year": "1961", "id_type": "aadhaar"},
    )
    remove = client.post(f"/account/members/{member.reference}/remove/")

    for response in (edit, remove):
        assert response.status_code == 400
        assert "cannot be changed after the first dose" in _text(response)
    assert Beneficiary.objects.filter(pk=member.pk, name="Asha Devi").exists()


def test_it_removes_a_member_after_a_confirmation(client: Client) -> None:
    member = add_member(sign_in_on_pages(client))

    confirm = client.get(f"/account/members/{member.reference}/remove/")
    assert "Remove Asha Devi from your account?" in _text(confirm)
    assert Beneficiary.objects.filter(pk=member.pk).exists()
    response = client.post(f"/account/members/{member.reference}/remove/")

    assert response["Location"] == "/account/"
    assert not Beneficiary.objects.filter(pk=member.pk).exists()
    assert "Asha Devi was removed from your account." in _text(client.get("/account/"))


def test_it_answers_404_for_another_accounts_member(client: Client, country: Country) -> None:
    from .conftest import sign_in

    theirs = add_member(sign_in(country, NEIGHBOUR_PHONE, client="198.51.100.20"))
    sign_in_on_pages(client)

    for path in ("edit", "remove"):
        assert client.get(f"/account/members/{theirs.reference}/{path}/").status_code == 404
        assert client.post(f"/account/members/{theirs.reference}/{path}/").status_code == 404
    assert client.get("/account/members/12345678901234/edit/").status_code == 404
    assert Beneficiary.objects.filter(pk=theirs.pk, name="Asha Devi").exists()
