"""The fair draw and the waiting list through the v1 API: entries, results, offers, refusals."""

from datetime import datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.api.factories import NOW, TOMORROW, plan
from vaxnet.api import v1
from vaxnet.booking.draw import draw_close
from vaxnet.booking.models import Appointment, Draw, Session, WaitlistEntry, WaitlistOffer
from vaxnet.booking.planning import SlotSpec
from vaxnet.booking.waitlist import waitlist_place_freed
from vaxnet.facilities.models import Facility

from .helpers import OTHER_PHONE, call, error_code, person, sign_in

pytestmark = pytest.mark.django_db

OPENS = NOW - timedelta(minutes=5)  # the TEST pack's window is 10 minutes: open at NOW
CLOSES = OPENS + timedelta(minutes=10)


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


def _member(client: Client, token: str, seed: int = 1) -> str:
    response = call(client, "post", "beneficiaries", person(seed), token=token)
    assert response.status_code == 201, response.json()
    reference: str = response.json()["reference"]
    return reference


def _drawn(facility: Facility, places: int = 1) -> Session:
    return plan(
        facility,
        capacity={1: (places, 0)},
        slots=[SlotSpec(time(9), time(11), places)],
        release_at=OPENS,
    )


def _enter(client: Client, token: str, session: Session, *members: str, **extra: Any) -> Any:
    body = {"session": session.public_id, "slot": "09:00", "beneficiaries": list(members)}
    key = extra.pop("key", "")
    return call(client, "post", "draw-entries", {**body, **extra}, token=token, key=key)


def _wait(client: Client, token: str, member: str, **extra: Any) -> Any:
    body = {
        "beneficiary": member,
        "date_from": TOMORROW.isoformat(),
        "date_to": (TOMORROW + timedelta(days=3)).isoformat(),
        **extra,
    }
    return call(client, "post", "waitlist", body, token=token, key=extra.pop("key", ""))


# The fair draw


def test_it_enters_the_draw_instead_of_booking_during_the_window(
    client: Client, token: str, hill_phc: Facility
) -> None:
    session = _drawn(hill_phc)
    first, second = _member(client, token, 1), _member(client, token, 2)
    body = {"session": session.public_id, "slot": "09:00", "beneficiaries": [first]}

    refused = call(client, "post", "appointments", body, token=token)
    response = _enter(client, token, session, first, second, join_waitlist=True)

    assert error_code(refused) == "fair_window_open"
    assert response.status_code == 201, response.json()
    entries = response.json()["entries"]
    assert sorted(e["beneficiary"] for e in entries) == sorted([first, second])
    assert {e["outcome"] for e in entries} == {"pending"}
    assert entries[0]["join_waitlist"] is True and entries[0]["slot_start"] == "09:00"
    assert datetime.fromisoformat(entries[0]["draw_closes_at"]) == CLOSES
    assert entries[0]["appointment"] is None


def test_it_lists_entries_with_their_results(
    client: Client, token: str, hill_phc: Facility
) -> None:
    session = _drawn(hill_phc, places=1)
    first, second = _member(client, token, 1), _member(client, token, 2)
    _enter(client, token, session, first, second, join_waitlist=True)

    draw_close(draw=Draw.objects.get(session=session), now=CLOSES)
    with time_machine.travel(CLOSES, tick=False):
        response = call(client, "get", "draw-entries", token=token)

    assert response.status_code == 200
    entries = response.json()["entries"]
    assert sorted(e["outcome"] for e in entries) == ["lost", "won"]
    (won,) = [e for e in entries if e["outcome"] == "won"]
    assert won["appointment"] == Appointment.objects.get().public_id
    (lost,) = [e for e in entries if e["outcome"] == "lost"]
    assert WaitlistEntry.objects.get().beneficiary.reference == lost["beneficiary"]


def test_it_refuses_entries_with_the_reason(client: Client, token: str, hill_phc: Facility) -> None:
    drawn = _drawn(hill_phc)
    open_now = plan(hill_phc)
    member = _member(client, token, 1)
    _enter(client, token, drawn, member)

    cases = {
        "already_entered": _enter(client, token, drawn, member),
        "draw_not_open": _enter(client, token, open_now, member),
        "session_unknown": _enter(client, token, Session(public_id="NOSUCH"), member),
    }
    for code, response in cases.items():
        assert (response.status_code, error_code(response)) == (400, code), code
    foreign = _enter(client, sign_in(client, OTHER_PHONE), drawn, member)
    assert (foreign.status_code, error_code(foreign)) == (404, "not_found")
    invalid = call(client, "post", "draw-entries", {"session": drawn.public_id}, token=token)
    assert (invalid.status_code, error_code(invalid)) == (422, "invalid_input")


def test_entering_is_idempotent(client: Client, token: str, hill_phc: Facility) -> None:
    session = _drawn(hill_phc)
    member = _member(client, token, 1)

    first = _enter(client, token, session, member, key="enter-1")
    again = _enter(client, token, session, member, key="enter-1")
    other = _enter(client, token, session, member, join_waitlist=True, key="enter-1")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (other.status_code, error_code(other)) == (422, "idempotency_key_reused")


def test_it_needs_a_token(client: Client) -> None:
    for method, path in (
        ("get", "draw-entries"),
        ("post", "draw-entries"),
        ("get", "waitlist"),
        ("post", "waitlist"),
        ("delete", "waitlist/ABC"),
        ("get", "waitlist/offers"),
        ("post", "waitlist/offers/ABC/accept"),
        ("post", "waitlist/offers/ABC/decline"),
    ):
        response = call(client, method, path, {})
        assert (response.status_code, error_code(response)) == (401, "unauthorized"), path


# The waiting list


def test_it_subscribes_lists_and_leaves(client: Client, token: str) -> None:
    member = _member(client, token, 1)

    joined = _wait(
        client, token, member, postal_codes=["110001"], region="TS-N-HIL", vaccine="COVISHIELD"
    )

    assert joined.status_code == 201, joined.json()
    entry = joined.json()
    assert entry["status"] == "waiting" and entry["region"] == "TS-N-HIL"
    assert entry["postal_codes"] == ["110001"] and entry["vaccine"] == "COVISHIELD"
    listed = call(client, "get", "waitlist", token=token).json()["entries"]
    assert [e["id"] for e in listed] == [entry["id"]]
    assert listed[0]["region"] == "TS-N-HIL"

    left = call(client, "delete", f"waitlist/{entry['id']}", token=token)
    again = call(client, "delete", f"waitlist/{entry['id']}", token=token)

    assert left.status_code == 204
    assert (again.status_code, error_code(again)) == (400, "not_waiting")
    assert call(client, "get", "waitlist", token=token).json()["entries"][0]["status"] == (
        "cancelled"
    )


def test_it_refuses_subscriptions_with_the_field(client: Client, token: str) -> None:
    member = _member(client, token, 1)
    _wait(client, token, member)
    second = _member(client, token, 2)

    cases = {
        ("postal_code_invalid", "postal_codes"): _wait(client, token, second, postal_codes=["0"]),
        ("region_unknown", "region"): _wait(client, token, second, region="NOWHERE"),
        ("vaccine_unavailable", "vaccine"): _wait(client, token, second, vaccine="NOPE"),
        ("waitlist_dates", "date_to"): _wait(
            client, token, second, date_to=(TOMORROW - timedelta(days=1)).isoformat()
        ),
        ("already_waitlisted", None): _wait(client, token, member),
    }
    for (code, field), response in cases.items():
        assert (response.status_code, error_code(response)) == (400, code), code
        assert response.json()["error"].get("field") == field, code
    bad = _wait(client, token, second, dose=0)
    assert (bad.status_code, error_code(bad)) == (422, "invalid_input")


def test_others_entries_and_offers_are_not_found(
    client: Client, token: str, hill_phc: Facility
) -> None:
    offer = _offer(client, token, hill_phc)
    other = sign_in(client, OTHER_PHONE)

    for method, path in (
        ("delete", f"waitlist/{offer.entry.public_id}"),
        ("post", f"waitlist/offers/{offer.public_id}/accept"),
        ("post", f"waitlist/offers/{offer.public_id}/decline"),
        ("post", "waitlist/offers/NOSUCHOFFER/accept"),
    ):
        response = call(client, method, path, token=other)
        assert (response.status_code, error_code(response)) == (404, "not_found"), path
    assert call(client, "get", "waitlist/offers", token=other).json() == {"offers": []}
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.OPEN


def _offer(client: Client, token: str, facility: Facility) -> WaitlistOffer:
    session = plan(facility, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    assert _wait(client, token, _member(client, token, 1)).status_code == 201
    offer = waitlist_place_freed(session=session, dose_number=1, slot=session.slots.get(), now=NOW)
    assert offer is not None
    return offer


def test_it_lists_and_accepts_an_offer(client: Client, token: str, hill_phc: Facility) -> None:
    offer = _offer(client, token, hill_phc)

    (listed,) = call(client, "get", "waitlist/offers", token=token).json()["offers"]
    accepted = call(
        client, "post", f"waitlist/offers/{offer.public_id}/accept", token=token, key="take-1"
    )
    replayed = call(
        client, "post", f"waitlist/offers/{offer.public_id}/accept", token=token, key="take-1"
    )
    twice = call(client, "post", f"waitlist/offers/{offer.public_id}/accept", token=token)

    assert listed["id"] == offer.public_id and listed["status"] == "open"
    assert listed["expires_in"] == 300 and listed["slot_start"] == "09:00"
    assert accepted.status_code == 201, accepted.json()
    appointment = Appointment.objects.get()
    assert accepted.json()["id"] == appointment.public_id
    assert accepted.json()["security_code"] == appointment.security_code
    assert replayed.json() == accepted.json()
    assert (twice.status_code, error_code(twice)) == (400, "offer_closed")
    (after,) = call(client, "get", "waitlist/offers", token=token).json()["offers"]
    assert after["status"] == "accepted" and after["appointment"] == appointment.public_id
    assert after["expires_in"] == 0


def test_it_declines_an_offer(client: Client, token: str, hill_phc: Facility) -> None:
    offer = _offer(client, token, hill_phc)

    declined = call(client, "post", f"waitlist/offers/{offer.public_id}/decline", token=token)
    again = call(client, "post", f"waitlist/offers/{offer.public_id}/decline", token=token)

    assert declined.status_code == 200, declined.json()
    assert declined.json()["status"] == "lapsed" and declined.json()["expires_in"] == 0
    assert (again.status_code, error_code(again)) == (400, "offer_closed")
    assert not Appointment.objects.exists()


def test_an_expired_offer_cannot_be_accepted(
    client: Client, token: str, hill_phc: Facility
) -> None:
    offer = _offer(client, token, hill_phc)

    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        late = call(client, "post", f"waitlist/offers/{offer.public_id}/accept", token=token)

    assert (late.status_code, error_code(late)) == (400, "offer_closed")


def test_the_fair_endpoints_are_rate_limited(
    client: Client, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(v1, "BOOKING_PER_ACCOUNT", (1, 3600))
    member = _member(client, token, 1)

    first = _wait(client, token, member)
    second = call(client, "delete", "waitlist/NOSUCHENTRY", token=token)

    assert first.status_code == 201
    assert (second.status_code, error_code(second)) == (429, "rate_limited")
    assert int(second["Retry-After"]) > 0


def test_the_openapi_document_lists_them_with_their_schemas(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]

    assert sorted(paths["/api/v1/draw-entries"]) == ["get", "post"]
    assert sorted(paths["/api/v1/waitlist"]) == ["get", "post"]
    assert sorted(paths["/api/v1/waitlist/{entry_id}"]) == ["delete"]
    assert sorted(paths["/api/v1/waitlist/offers"]) == ["get"]
    assert sorted(paths["/api/v1/waitlist/offers/{offer_id}/accept"]) == ["post"]
    assert sorted(paths["/api/v1/waitlist/offers/{offer_id}/decline"]) == ["post"]
    enter = paths["/api/v1/draw-entries"]["post"]
    assert {"201", "400", "401", "404", "422", "429"} <= set(enter["responses"])
    assert enter["security"] == [{"BearerToken": []}]
    schemas = document["components"]["schemas"]
    assert {"DrawEnterIn", "DrawEntriesOut", "WaitlistIn", "WaitlistOut", "OffersOut"} <= set(
        schemas
    )
