"""Staff pages for planning sessions: sign in, the facilities in scope, plan, change, cancel."""

from collections.abc import Iterator
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client

from vaxnet.booking.models import Appointment, Session, SessionDose, Slot
from vaxnet.booking.planning import session_create
from vaxnet.booking.services import appointment_book
from vaxnet.core.models import AuditEvent, User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_set_fee
from vaxnet.notifications.models import Message
from vaxnet.vaccines.models import Vaccine

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db

TOMORROW = (NOW + timedelta(days=1)).date()
HILL = "/staff/facilities/TS-F1/sessions/"


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False):
        yield


def _text(response: Any) -> str:
    return str(response.content.decode())


def _as(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "on": TOMORROW.isoformat(),
        "vaccine": "COVISHIELD",
        "doses": ["1", "2"],
        "online_1": "30",
        "onsite_1": "10",
        "online_2": "10",
        "onsite_2": "5",
        "min_age_years": "18",
        "max_age_years": "",
        "fee_kind": "usual",
        "fee": "",
        "slots": "09:00-11:00 20\r\n11:00-13:00 20",
        "release_at": f"{TOMORROW.isoformat()}T00:00",
    }
    data.update(overrides)
    return data


# --- Signing in and out -----------------------------------------------------------------------


def test_it_sends_visitors_to_the_staff_sign_in_and_back(client: Client, manager: User) -> None:
    response = client.get(HILL)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/sign-in/?next={HILL}"

    page = client.get("/staff/sign-in/")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in _text(page)

    wrong = client.post("/staff/sign-in/", {"username": "manager", "password": "nope"})
    assert wrong.status_code == 200
    assert 'role="alert"' in _text(wrong)

    signed_in = client.post(
        "/staff/sign-in/",
        {"username": "manager", "password": "correct horse battery staple", "next": HILL},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == HILL
    assert client.get(HILL).status_code == 200

    signed_out = client.post("/staff/sign-out/")
    assert signed_out.status_code == 302 and signed_out["Location"] == "/staff/sign-in/"
    assert client.get(HILL).status_code == 302


def test_it_sends_htmx_requests_to_sign_in_with_a_full_navigation(client: Client) -> None:
    response = client.post(f"{HILL}new/", _form(), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == f"/staff/sign-in/?next={HILL}new/"
    assert not Session.objects.exists()


def test_it_lands_on_the_staff_home_after_signing_in(client: Client, manager: User) -> None:
    response = client.post(
        "/staff/sign-in/", {"username": "manager", "password": "correct horse battery staple"}
    )

    assert response["Location"] == "/staff/"


# --- Facilities in scope ----------------------------------------------------------------------


def test_it_lists_a_managers_own_facility(client: Client, manager: User) -> None:
    text = _text(_as(client, manager).get("/staff/"))

    assert "Hill Town Primary Health Centre" in text
    assert f'href="{HILL}"' in text
    assert "River Town Clinic" not in text


def test_it_lists_a_regions_facilities_to_its_admin_with_a_name_filter(
    client: Client, state_admin: User, django_assert_max_num_queries: Any
) -> None:
    _as(client, state_admin)

    with django_assert_max_num_queries(8):
        text = _text(client.get("/staff/"))
    assert "Hill Town Primary Health Centre" in text and "River Town Clinic" in text
    assert "Sea Port Hospital" not in text

    filtered = client.get("/staff/?q=river", headers={"HX-Request": "true"})
    assert "River Town Clinic" in _text(filtered)
    assert "Hill Town" not in _text(filtered)
    assert "<html" not in _text(filtered)
    assert "Hill Town" in _text(client.get("/staff/?q=TS-F1"))


@pytest.mark.parametrize("persona", ["verifier", "vaccinator", "store_keeper", "outsider"])
def test_it_tells_staff_who_do_not_plan_and_hides_facilities(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    _as(client, request.getfixturevalue(persona))

    home = client.get("/staff/")
    assert home.status_code == 200
    assert "Your role does not plan sessions." in _text(home)
    assert client.get(HILL).status_code == 404
    assert client.get(f"{HILL}new/").status_code == 404


def test_it_answers_404_for_others_facilities_as_for_missing_ones(
    client: Client, manager: User, district_admin: User, hill_phc: Facility
) -> None:
    session = make_session(hill_phc)
    _as(client, manager)
    assert client.get("/staff/facilities/TS-F3/sessions/").status_code == 404
    assert client.get("/staff/facilities/NOPE/sessions/").status_code == 404
    assert client.get(f"{HILL}NOPE/edit/").status_code == 404

    _as(client, district_admin)
    assert client.get("/staff/facilities/TS-F3/sessions/").status_code == 404
    assert client.get(f"{HILL}{session.public_id}/edit/").status_code == 200
    # The session id of one facility under another's code is not found either.
    assert (
        client.get(f"/staff/facilities/TS-F2/sessions/{session.public_id}/edit/").status_code == 404
    )


# --- The sessions page ------------------------------------------------------------------------


def test_it_shows_coming_and_past_sessions_with_booked_against_places(
    client: Client,
    manager: User,
    hill_phc: Facility,
    country: Country,
    django_assert_max_num_queries: Any,
) -> None:
    session = make_session(hill_phc)
    for n in range(3):
        make_session(hill_phc, on=TOMORROW + timedelta(days=n + 1))
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        session_create(
            by=None,
            facility=hill_phc,
            on=(NOW - timedelta(days=2)).date(),
            vaccine=Vaccine.objects.get(code="COVAXIN"),
            capacity={1: (0, 5)},
            slots=[],
            release_at=NOW - timedelta(days=3),
        )
    member = make_member(make_account(country, "+919812345678"), 1)
    appointment_book(
        beneficiaries=[member],
        session=session,
        slot=session.slots.order_by("starts_at")[0],
        now=NOW,
    )
    _as(client, manager)

    # One of them is the staff bar's read of the user's roles, to show only their sections.
    with django_assert_max_num_queries(13):
        response = client.get(HILL)

    text = _text(response)
    assert response.status_code == 200
    assert "Tue 3 Mar 2026" in text and "Sat 28 Feb 2026" in text
    assert (
        text.index("Coming sessions") < text.index("Tue 3 Mar 2026") < text.index("Past sessions")
    )
    assert text.index("Past sessions") < text.index("Sat 28 Feb 2026")
    assert "online 1 of 4" in text and "on site 0 of 2" in text
    assert "Planned" in text
    assert f'href="{HILL}new/"' in text
    assert f'href="{HILL}{session.public_id}/edit/"' in text


# --- Planning a session -----------------------------------------------------------------------


def test_it_shows_the_form_with_the_countrys_active_vaccines(client: Client, manager: User) -> None:
    Vaccine.objects.filter(code="MR").update(active=False)

    text = _text(_as(client, manager).get(f"{HILL}new/"))

    assert 'value="COVISHIELD"' in text and 'value="COVAXIN"' in text
    assert 'value="MR"' not in text
    assert 'id="id_online_3"' in text  # COVISHIELD's third dose
    assert f'value="{TOMORROW.isoformat()}"' in text
    assert 'type="datetime-local"' in text


def test_it_plans_a_session_and_audits_it(client: Client, manager: User) -> None:
    response = _as(client, manager).post(f"{HILL}new/", _form())

    assert response.status_code == 302 and response["Location"] == HILL
    session = Session.objects.get(facility__code="TS-F1")
    assert session.date == TOMORROW
    assert session.dose_numbers == [1, 2]
    assert [str(s) for s in session.slots.all()] == ["09:00–11:00", "11:00–13:00"]
    assert session.release_at == NOW.replace(hour=0) + timedelta(days=1)
    assert AuditEvent.objects.filter(action="session.create", actor=manager).exists()
    assert "is planned" in _text(client.get(HILL))


def test_it_answers_htmx_with_a_redirect_or_the_form_alone(client: Client, manager: User) -> None:
    _as(client, manager)
    headers = {"HX-Request": "true"}

    refused = client.post(f"{HILL}new/", _form(slots="09:00-11:00 5"), headers=headers)
    assert refused.status_code == 400
    assert "<html" not in _text(refused) and 'id="session-form"' in _text(refused)

    done = client.post(f"{HILL}new/", _form(), headers=headers)
    assert done.status_code == 200 and done["HX-Redirect"] == HILL


def test_it_takes_the_private_fee_or_the_one_given(
    client: Client, state_admin: User, river_clinic: Facility
) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    facility_set_fee(by=None, facility=river_clinic, vaccine=vaccine, amount=Decimal("780"))
    url = "/staff/facilities/TS-F2/sessions/new/"
    _as(client, state_admin)
    assert "COVISHIELD 780 INR" in _text(client.get(url))

    client.post(url, _form())
    client.post(
        url, _form(on=(TOMORROW + timedelta(days=1)).isoformat(), fee_kind="paid", fee="250.50")
    )
    client.post(url, _form(on=(TOMORROW + timedelta(days=2)).isoformat(), fee_kind="free"))

    fees = list(
        Session.objects.filter(facility=river_clinic).order_by("date").values_list("fee", flat=True)
    )
    assert fees == [Decimal("780"), Decimal("250.50"), Decimal("0")]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"on": "tomorrow"}, "on", "Enter the date of the session"),
        (
            {"on": (NOW.date() - timedelta(days=1)).isoformat()},
            "on",
            "cannot be planned in the past",
        ),
        ({"vaccine": "NOPE"}, "vaccine", "Choose a vaccine."),
        ({"doses": []}, "dose_numbers", "Choose at least one dose"),
        (
            {"doses": ["1", "3"], "vaccine": "COVAXIN"},
            "dose_numbers",
            "this vaccine&#x27;s schedule",
        ),
        ({"online_1": "many"}, "capacity", "whole numbers"),
        (
            {"online_1": "0", "onsite_1": "0", "doses": ["1"], "slots": ""},
            "capacity",
            "needs some capacity",
        ),
        ({"min_age_years": "-3"}, "min_age_years", "whole years"),
        ({"max_age_years": "10"}, "max_age_years", "cannot be below the minimum"),
        ({"fee_kind": "paid", "fee": "free"}, "fee", "Enter the fee"),
        ({"fee_kind": "paid", "fee": "1e400"}, "fee", "Enter the fee"),
        ({"slots": "nine to eleven"}, "slots", "Line 1"),
        ({"slots": "25:00-26:00 40"}, "slots", "Line 1"),
        ({"slots": "09:00-11:00 10"}, "slots", "share exactly"),
        ({"slots": "07:00-09:00 20\n09:00-11:00 20"}, "slots", "opening hours"),
        ({"slots": "09:00-12:00 20\n11:00-13:00 20"}, "slots", "must not overlap"),
        ({"release_at": "soon"}, "release_at", "Enter when booking opens"),
        ({"release_at": "2026-03-05T10:00"}, "release_at", "cannot open after the day"),
    ],
)
def test_it_shows_every_refusal_beside_its_field(
    client: Client, manager: User, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = _as(client, manager).post(f"{HILL}new/", _form(**overrides))

    text = _text(response)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in text
    assert message in text
    assert f'href="#id_{field}"' in text
    assert f'id="id_{field}"' in text
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "junk",
    [
        {},
        {"on": "9" * 500, "vaccine": "\x00", "doses": ["x", "99"], "online_1": "9" * 50},
        {"release_at": "2026-02-30T25:61", "slots": "\n".join(["09:00-09:10 1"] * 60)},
        {"min_age_years": "1e3", "max_age_years": "٣", "fee_kind": "<script>", "fee": "NaN"},
    ],
)
def test_it_never_fails_on_junk(client: Client, manager: User, junk: dict[str, Any]) -> None:
    response = _as(client, manager).post(f"{HILL}new/", junk)

    assert response.status_code == 400


# --- Changing a session -----------------------------------------------------------------------


def test_it_fills_the_edit_form_and_saves_changes(
    client: Client, manager: User, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, release_at=NOW + timedelta(hours=5))
    url = f"{HILL}{session.public_id}/edit/"
    _as(client, manager)

    text = _text(client.get(url))
    assert "09:00-11:00 4\n11:00-13:00 4" in text
    assert 'value="2026-03-02T14:00"' in text

    response = client.post(
        url,
        _form(
            online_1="6",
            onsite_1="2",
            online_2="4",
            onsite_2="2",
            slots="09:00-11:00 6\n11:00-13:00 4",
            fee_kind="free",
            release_at="2026-03-02T15:30",
        ),
    )

    assert response.status_code == 302, _text(response)
    dose = SessionDose.objects.get(session=session, dose_number=1)
    assert (dose.capacity_online, dose.capacity_onsite) == (6, 2)
    session.refresh_from_db()
    assert session.release_at == NOW + timedelta(hours=6, minutes=30)
    assert AuditEvent.objects.filter(action="session.update", actor=manager).exists()


def test_it_refuses_changes_that_would_break_bookings_beside_the_field(
    client: Client, manager: User, hill_phc: Facility, country: Country
) -> None:
    session = make_session(hill_phc)
    for n in range(3):
        member = make_member(make_account(country, f"+91981234560{n}"), 10 + n)
        appointment_book(
            beneficiaries=[member],
            session=session,
            slot=Slot.objects.get(session=session, starts_at=time(9)),
            now=NOW,
        )
    url = f"{HILL}{session.public_id}/edit/"
    _as(client, manager)
    keep = {
        "doses": ["1", "2"],
        "online_1": "4",
        "onsite_1": "2",
        "online_2": "4",
        "onsite_2": "2",
        "slots": "09:00-11:00 4\n11:00-13:00 4",
        "release_at": "2026-03-01T09:00",
    }
    assert "booked: 3 online, 0 on site" in _text(client.get(url))

    lower = client.post(
        url, _form(**{**keep, "online_1": "2", "slots": "09:00-11:00 2\n11:00-13:00 4"})
    )
    assert lower.status_code == 400
    assert 'id="id_capacity_error"' in _text(lower)
    assert "already has 3 people booked online" in _text(lower)

    moved = client.post(url, _form(**{**keep, "on": (TOMORROW + timedelta(days=1)).isoformat()}))
    assert 'id="id_on_error"' in _text(moved) and "People have booked this session" in _text(moved)

    assert client.post(url, _form(**keep)).status_code == 302
    assert SessionDose.objects.get(session=session, dose_number=1).booked_online == 3


# --- Cancelling a session ---------------------------------------------------------------------


def test_it_cancels_a_session_with_a_reason_and_tells_everyone_booked(
    client: Client, district_admin: User, hill_phc: Facility, country: Country
) -> None:
    session = make_session(hill_phc)
    for n in range(2):
        member = make_member(make_account(country, f"+91981234560{n}"), 10 + n)
        appointment_book(
            beneficiaries=[member],
            session=session,
            slot=session.slots.order_by("starts_at")[0],
            now=NOW,
        )
    url = f"{HILL}{session.public_id}/cancel/"
    _as(client, district_admin)

    page = client.get(url)
    assert "2 people have booked this session" in _text(page)

    missing = client.post(url, {"reason": "  "})
    assert missing.status_code == 400 and 'id="id_reason_error"' in _text(missing)

    done = client.post(url, {"reason": "No vaccine delivered"})
    assert done.status_code == 302 and done["Location"] == HILL
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert not Appointment.objects.filter(session=session, status="booked").exists()
    assert Message.objects.filter(template="session_cancelled").count() == 2
    event = AuditEvent.objects.get(action="session.cancel", actor=district_admin)
    assert event.data["reason"] == "No vaccine delivered"
    assert "2 people are told by SMS" in _text(client.get(HILL))
    assert client.get(url).status_code == 404  # no longer planned


def test_it_says_when_nobody_is_booked_in_a_session_to_cancel(
    client: Client, manager: User, hill_phc: Facility
) -> None:
    session = make_session(hill_phc)

    text = _text(_as(client, manager).get(f"{HILL}{session.public_id}/cancel/"))

    assert "Nobody has booked this session" in text


def test_it_keeps_cancelling_to_planners_of_the_facility(
    client: Client, vaccinator: User, outsider: User, hill_phc: Facility
) -> None:
    session = make_session(hill_phc)
    for user in (vaccinator, outsider):
        _as(client, user)
        assert client.post(f"{HILL}{session.public_id}/cancel/", {"reason": "x"}).status_code == 404
    session.refresh_from_db()
    assert session.status == Session.Status.PLANNED


def test_it_shows_the_on_site_only_plan_without_slots(client: Client, manager: User) -> None:
    response = _as(client, manager).post(
        f"{HILL}new/", _form(doses=["1"], online_1="0", onsite_1="50", slots="")
    )

    assert response.status_code == 302
    session = Session.objects.get()
    assert session.available_online == 0
    assert not session.slots.exists()


def test_it_links_every_page_to_the_staff_pages(client: Client, manager: User) -> None:
    signed_out = client.get("/").content.decode()
    client.force_login(manager)
    signed_in = client.get("/").content.decode()

    assert 'href="/staff/">Staff sign-in</a>' in signed_out
    assert 'href="/staff/">Staff</a>' in signed_in
    assert "Staff sign-in" not in signed_in
