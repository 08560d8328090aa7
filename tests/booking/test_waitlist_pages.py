"""Waiting-list pages: join, leave, answer an offer; the account's draw entries."""

from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client

from tests.people.conftest import NEIGHBOUR_PHONE
from tests.people.test_pages import ask_for_code, sign_in_on_pages
from vaxnet.booking.access import entry_for_account, offer_for_account
from vaxnet.booking.draw import draw_close, draw_enter
from vaxnet.booking.models import (
    Appointment,
    Draw,
    DrawEntry,
    Session,
    WaitlistEntry,
    WaitlistOffer,
)
from vaxnet.booking.planning import SlotSpec
from vaxnet.booking.waitlist import waitlist_place_freed, waitlist_subscribe
from vaxnet.core.errors import NotFound
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db

TOMORROW = (NOW + timedelta(days=1)).date()
JOIN = "/waitlist/join/"


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def citizen(client: Client) -> Account:
    return sign_in_on_pages(client)


@pytest.fixture
def asha(citizen: Account) -> Beneficiary:
    return make_member(citizen, 1, name="Asha")


def _text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def _wait(member: Beneficiary, **preferences: object) -> WaitlistEntry:
    return waitlist_subscribe(
        beneficiary=member,
        date_from=TOMORROW,
        date_to=TOMORROW + timedelta(days=3),
        **preferences,  # type: ignore[arg-type]
    )


def _offer(member: Beneficiary, facility: Facility) -> WaitlistOffer:
    """Return an offer to the member of a one-place session's free place."""
    session = make_session(facility, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    _wait(member)
    offer = waitlist_place_freed(session=session, dose_number=1, slot=session.slots.get(), now=NOW)
    assert offer is not None
    return offer


def _join(client: Client, **values: str) -> Any:
    data = {
        "member": "",
        "region": "",
        "postal_codes": "",
        "vaccine": "",
        "dose_number": "",
        "date_from": TOMORROW.isoformat(),
        "date_to": (TOMORROW + timedelta(days=6)).isoformat(),
        **values,
    }
    return client.post(JOIN, data)


# --- Joining and leaving -----------------------------------------------------------------------


def test_it_joins_a_member_from_the_account_page(
    client: Client, asha: Beneficiary, country: Country
) -> None:
    account_page = _text(client.get("/account/"))
    assert f'href="/waitlist/join/?member={asha.reference}"' in account_page

    form = _text(client.get(f"{JOIN}?member={asha.reference}"))
    assert f'value="{asha.reference}" checked' in form

    response = _join(
        client, member=asha.reference, region="TS-N-HIL", vaccine="COVISHIELD", dose_number="1"
    )

    assert response.status_code == 302
    assert response["Location"] == "/waitlist/"
    entry = WaitlistEntry.objects.get(beneficiary=asha)
    assert entry.status == WaitlistEntry.Status.WAITING
    assert entry.region_path.endswith("/TS-N-HIL/")
    assert entry.vaccine is not None and entry.vaccine.code == "COVISHIELD"
    assert entry.dose_number == 1
    listing = _text(client.get("/waitlist/"))
    assert "Asha is on the waiting list" in listing
    assert "Hill District" in listing and f"/waitlist/{entry.public_id}/leave/" in listing
    assert "Nobody on this account is waiting" not in _text(client.get("/account/"))


def test_it_joins_with_postal_codes(client: Client, asha: Beneficiary) -> None:
    response = _join(client, member=asha.reference, postal_codes="110001, 110002")

    assert response.status_code == 302
    assert WaitlistEntry.objects.get(beneficiary=asha).postal_codes == ["110001", "110002"]


def test_it_offers_the_waiting_list_when_the_search_finds_nothing(
    client: Client, asha: Beneficiary
) -> None:
    found = _text(client.get("/book/?region=TS-N-HIL&vaccine=COVAXIN"))

    assert "Join the waiting list" in found
    assert "/waitlist/join/?region=TS-N-HIL&amp;vaccine=COVAXIN" in found
    assert client.get(f"{JOIN}?date=2026-02-30&member=x").status_code == 200
    form = _text(client.get(f"{JOIN}?region=TS-N-HIL&vaccine=COVAXIN&date=2026-03-05"))
    assert 'value="TS-N-HIL" selected' in form
    assert 'value="COVAXIN" selected' in form
    assert 'value="2026-03-05"' in form and 'value="2026-03-11"' in form
    assert f'value="{asha.reference}" checked' in form  # the only member


def test_it_offers_the_waiting_list_beside_a_fully_booked_session(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    other = make_member(make_account(asha.country, "+919700000009"), 9)
    from vaxnet.booking.services import appointment_book

    appointment_book(beneficiaries=[other], session=session, slot=session.slots.get())

    found = _text(client.get("/book/?region=TS-N-HIL"))

    assert "Fully booked online" in found
    assert 'href="/waitlist/join/?region=TS-N-HIL"' in found


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"postal_codes": "0123"}, "postal_codes", "0123 is not a postal code here."),
        ({"date_to": "2026-03-01"}, "date_to", "Choose a date range"),
        ({"date_from": "tomorrow"}, "date_from", "Enter a date as year-month-day"),
        ({"date_to": "2026-02-30"}, "date_to", "Enter a date as year-month-day"),
        ({"region": "NOWHERE"}, "region", "Choose a region from the list."),
        ({"vaccine": "NOPE"}, "vaccine", "Choose a vaccine from the list."),
        ({"dose_number": "x"}, "dose_number", "Choose a dose number."),
        ({"member": ""}, "member", "Choose who is waiting."),
    ],
)
def test_it_shows_refusals_beside_the_fields(
    client: Client, asha: Beneficiary, values: dict[str, str], field: str, message: str
) -> None:
    response = _join(client, **{"member": asha.reference, **values})

    text = _text(response)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in text and message in text
    assert 'aria-invalid="true"' in text and f'href="#id_{field}"' in text
    assert not WaitlistEntry.objects.exists()


def test_it_refuses_a_second_entry_beside_the_member(client: Client, asha: Beneficiary) -> None:
    _wait(asha)

    response = _join(client, member=asha.reference)

    assert response.status_code == 400
    assert 'id="id_member_error"' in _text(response)
    assert "Asha is already on the waiting list." in _text(response)


def test_it_answers_htmx_with_the_form_or_a_redirect(client: Client, asha: Beneficiary) -> None:
    data = {"member": asha.reference, "date_from": "2026-03-03", "date_to": "2026-03-01"}
    refused = client.post(JOIN, data, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert "<html" not in _text(refused) and 'id="waitlist-form"' in _text(refused)

    data["date_to"] = "2026-03-04"
    joined = client.post(JOIN, data, headers={"HX-Request": "true"})
    assert joined["HX-Redirect"] == "/waitlist/"


def test_it_does_not_join_another_accounts_member(client: Client, citizen: Account) -> None:
    stranger = make_member(make_account(citizen.country, "+919700000008"), 8)

    assert _join(client, member=stranger.reference).status_code == 404
    assert not WaitlistEntry.objects.exists()


def test_it_leaves_the_list_after_a_confirmation(client: Client, asha: Beneficiary) -> None:
    entry = _wait(asha)
    url = f"/waitlist/{entry.public_id}/leave/"

    assert "Take Asha off the waiting list?" in _text(client.get(url))
    response = client.post(url)

    assert response.status_code == 302 and response["Location"] == "/waitlist/"
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CANCELLED
    again = client.post(url)
    assert again.status_code == 400
    assert "This person is not waiting for a place." in _text(again)


def test_it_hides_other_accounts_entries_and_offers(
    client: Client, citizen: Account, hill_phc: Facility
) -> None:
    stranger = make_member(make_account(citizen.country, "+919700000008"), 8)
    offer = _offer(stranger, hill_phc)
    entry = offer.entry

    for url in (
        f"/waitlist/{entry.public_id}/leave/",
        f"/waitlist/offers/{offer.public_id}/",
        "/waitlist/offers/NOSUCHOFFER/",
        "/waitlist/offers/bad%20id!/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/waitlist/{entry.public_id}/leave/").status_code == 404
    assert client.post(f"/waitlist/offers/{offer.public_id}/accept/").status_code == 404
    assert client.post(f"/waitlist/offers/{offer.public_id}/decline/").status_code == 404
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.OPEN
    with pytest.raises(NotFound):
        offer_for_account(citizen, offer.public_id)
    with pytest.raises(NotFound):
        entry_for_account(citizen, entry.public_id)
    assert stranger.account is not None
    assert entry_for_account(stranger.account, entry.public_id) == entry


# --- Offers ------------------------------------------------------------------------------------


def test_the_sms_link_signs_in_first_then_comes_back_to_the_offer(
    client: Client, country: Country, hill_phc: Facility
) -> None:
    account = make_account(country, NEIGHBOUR_PHONE)
    offer = _offer(make_member(account, 3, name="Ravi"), hill_phc)
    path = f"/waitlist/offers/{offer.public_id}/"

    first = client.get(path)
    assert first.status_code == 302
    assert first["Location"] == f"/account/sign-in/?next={quote(path, safe='')}"

    code = ask_for_code(client, NEIGHBOUR_PHONE, next_url=path)
    signed_in = client.post(f"/account/sign-in/code/?next={quote(path, safe='')}", {"code": code})
    assert signed_in.status_code == 302 and signed_in["Location"] == path
    assert "A place for Ravi" in _text(client.get(path))


def test_it_shows_the_offer_and_the_time_left(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    offer = _offer(asha, hill_phc)

    response = client.get(f"/waitlist/offers/{offer.public_id}/")

    text = _text(response)
    assert response.status_code == 200
    assert "A place for Asha" in text and hill_phc.name in text
    assert "09:00–11:00" in text
    assert "We hold this place until 09:05: 5 minutes left." in text
    assert "Accept and book" in text and "Decline" in text
    with time_machine.travel(NOW + timedelta(minutes=4, seconds=30), tick=False):
        assert "1 minute left" in _text(client.get(f"/waitlist/offers/{offer.public_id}/"))


def test_accepting_books_and_goes_to_the_account_with_a_message(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    offer = _offer(asha, hill_phc)
    assert "Answer the offer" in _text(client.get("/account/"))

    response = client.post(f"/waitlist/offers/{offer.public_id}/accept/")

    assert response.status_code == 302 and response["Location"] == "/account/"
    appointment = Appointment.objects.get(beneficiary=asha)
    assert appointment.status == Appointment.Status.BOOKED
    account_page = _text(client.get("/account/"))
    assert "Asha is booked at" in account_page
    assert f"Security code: {appointment.security_code}" in account_page
    after = _text(client.get(f"/waitlist/offers/{offer.public_id}/"))
    assert "This offer was accepted" in after and "Accept and book" not in after


def test_declining_passes_the_place_on(
    client: Client, asha: Beneficiary, country: Country, hill_phc: Facility
) -> None:
    offer = _offer(asha, hill_phc)
    neighbour = make_member(make_account(country, "+919700000007"), 7)
    _wait(neighbour)

    response = client.post(f"/waitlist/offers/{offer.public_id}/decline/")

    assert response.status_code == 302 and response["Location"] == "/account/"
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.LAPSED
    passed_on = WaitlistOffer.objects.get(status=WaitlistOffer.Status.OPEN)
    assert passed_on.entry.beneficiary == neighbour
    assert "You declined the place." in _text(client.get("/account/"))
    ended = _text(client.get(f"/waitlist/offers/{offer.public_id}/"))
    assert "This offer has ended" in ended


def test_an_expired_offer_says_so_and_books_nothing(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    offer = _offer(asha, hill_phc)

    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        page = _text(client.get(f"/waitlist/offers/{offer.public_id}/"))
        accepted = client.post(f"/waitlist/offers/{offer.public_id}/accept/")
        declined = client.post(f"/waitlist/offers/{offer.public_id}/decline/")

    assert "This offer has ended" in page and "Accept and book" not in page
    assert accepted.status_code == 400
    assert "This offer has expired or has already been answered." in _text(accepted)
    assert declined.status_code == 302  # lapsing it at once passes the place on sooner
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.LAPSED
    assert not Appointment.objects.filter(beneficiary=asha).exists()
    again = client.post(f"/waitlist/offers/{offer.public_id}/decline/")
    assert again.status_code == 400
    assert "This offer has expired or has already been answered." in _text(again)


# --- Draw entries on the account ---------------------------------------------------------------


def test_the_account_shows_draw_entries_and_their_results(
    client: Client, citizen: Account, hill_phc: Facility
) -> None:
    opens = NOW - timedelta(minutes=5)
    won = Session.objects.get(
        pk=make_session(
            hill_phc,
            capacity={1: (1, 0)},
            slots=[SlotSpec(time(9), time(11), 1)],
            release_at=opens,
        ).pk
    )
    pending = Session.objects.get(
        pk=make_session(hill_phc, on=TOMORROW + timedelta(days=1), release_at=opens).pk
    )
    asha = make_member(citizen, 1, name="Asha")
    ravi = make_member(citizen, 2, name="Ravi")
    draw_enter(beneficiaries=[asha], session=won, slot=won.slots.get(), now=NOW)
    first_slot = pending.slots.first()
    assert first_slot is not None
    draw_enter(beneficiaries=[ravi], session=pending, slot=first_slot, now=NOW)

    text = _text(client.get("/account/"))
    assert "Fair draws" in text and text.count("Waiting for the draw") == 2
    assert "The draw is made after" in text

    draw_close(draw=Draw.objects.get(session=won), now=NOW + timedelta(minutes=6))
    assert DrawEntry.objects.get(beneficiary=asha).outcome == DrawEntry.Outcome.WON
    text = _text(client.get("/account/"))
    assert "Won a place" in text and text.count("Waiting for the draw") == 1
