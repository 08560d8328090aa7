"""Citizen booking pages: find a session, book it for family members, cancel or move it."""

import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.people.test_pages import sign_in_on_pages
from vaxnet.booking.access import appointment_for_account
from vaxnet.booking.models import Appointment, DrawEntry, Session, SessionDose, Slot
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.booking.services import appointment_book
from vaxnet.core.errors import NotFound
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_create
from vaxnet.geo.models import Region
from vaxnet.notifications.models import Message
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccines.models import Vaccine

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db

TOMORROW = (NOW + timedelta(days=1)).date()


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    """Run every page at NOW, with no sign-in limits counted by earlier tests."""
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def citizen(client: Client) -> Account:
    return sign_in_on_pages(client)


@pytest.fixture
def asha(citizen: Account) -> Beneficiary:
    return make_member(citizen, 1, name="Asha")


@pytest.fixture
def session(hill_phc: Facility) -> Session:
    return make_session(hill_phc)


def _text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def _post_booking(
    client: Client, session: Session, members: list[Beneficiary], slot: str = "0900", **headers: str
) -> object:
    return client.post(
        f"/book/{session.public_id}/",
        {"members": [m.reference for m in members], "slot": slot},
        headers=headers,
    )


def _book_now(member: Beneficiary, session: Session) -> Appointment:
    slot = session.slots.order_by("starts_at").first()
    assert slot is not None
    (appointment,) = appointment_book(beneficiaries=[member], session=session, slot=slot)
    return appointment


# --- Finding sessions -------------------------------------------------------------------------


def test_it_shows_the_finder_to_anyone_with_tomorrow_chosen(client: Client) -> None:
    response = client.get("/book/")

    text = _text(response)
    assert response.status_code == 200
    assert 'value="2026-03-03"' in text  # tomorrow
    assert '<option value="TS-N-HIL">Hill District</option>' in text
    assert "sign in with your mobile number" in text
    assert "Choose your district or enter your PIN code" in text


def test_it_lists_a_weeks_sessions_with_places_per_dose_and_per_slot(
    client: Client, hill_phc: Facility
) -> None:
    make_session(hill_phc)
    make_session(hill_phc, on=TOMORROW + timedelta(days=6), vaccine="COVAXIN")
    make_session(hill_phc, on=TOMORROW + timedelta(days=7))  # the week after: not shown

    text = _text(client.get("/book/?region=TS-N-HIL"))

    assert "1 centre has sessions from 3 Mar to 9 Mar." in text
    assert "Hill Town Primary Health Centre" in text
    assert "Tue 3 Mar · COVISHIELD" in text
    assert "Mon 9 Mar · COVAXIN" in text
    assert "Tue 10 Mar" not in text
    assert "18 years and over" in text
    assert "dose 1: 4" in text and "dose 2: 4" in text
    assert "09:00–11:00" in text and "4 places left" in text
    assert "Free" in text


def test_it_links_slots_to_booking_by_start_time_never_by_database_id(
    client: Client, session: Session
) -> None:
    text = _text(client.get("/book/?region=TS-N"))

    assert f'href="/book/{session.public_id}/?slot=0900"' in text
    assert f'href="/book/{session.public_id}/?slot=1100"' in text
    assert set(re.findall(r"\?slot=([^\"&]+)", text)) == {"0900", "1100"}


def test_it_shows_a_session_that_opens_later_without_slots_to_book(
    client: Client, hill_phc: Facility
) -> None:
    later = make_session(hill_phc, release_at=NOW + timedelta(hours=8))

    text = _text(client.get("/book/?region=TS-N-HIL"))

    assert "Booking opens at Mon 2 Mar, 17:00." in text
    assert f"/book/{later.public_id}/?slot" not in text


def test_it_marks_full_slots_and_sessions(client: Client, hill_phc: Facility) -> None:
    full = make_session(hill_phc)
    Slot.objects.filter(session=full, starts_at=time(9)).update(booked=4)

    text = _text(client.get("/book/?region=TS-N-HIL"))

    assert "slot-full" in text
    assert f"/book/{full.public_id}/?slot=0900" not in text
    assert f"/book/{full.public_id}/?slot=1100" in text
    SessionDose.objects.filter(session=full).update(booked_online=4)
    assert "Fully booked online" in _text(client.get("/book/?region=TS-N-HIL"))


def test_it_filters_by_vaccine_and_by_cost(
    client: Client, hill_phc: Facility, river_clinic: Facility
) -> None:
    make_session(hill_phc)
    session_create(
        by=None,
        facility=river_clinic,
        on=TOMORROW,
        vaccine=Vaccine.objects.get(code="COVAXIN"),
        capacity={1: (10, 0)},
        slots=[SlotSpec(time(9), time(11), 10)],
        release_at=NOW - timedelta(days=1),
        fee=Decimal("780"),
    )

    covaxin = _text(client.get("/book/?region=TS-N&vaccine=COVAXIN"))
    paid = _text(client.get("/book/?region=TS-N&fee=paid"))
    free = _text(client.get("/book/?region=TS-N&fee=free"))

    assert "River Town Clinic" in covaxin and "Hill Town" not in covaxin
    assert "River Town Clinic" in paid and "780 INR a dose" in paid and "Hill Town" not in paid
    assert "Hill Town" in free and "River Town Clinic" not in free


def test_it_finds_sessions_by_postal_code_or_the_postal_codes_district(
    client: Client, hill_phc: Facility
) -> None:
    make_session(hill_phc)

    exact = _text(client.get("/book/?postal_code=110001"))
    nearby = _text(client.get("/book/?postal_code=110002"))
    unknown = _text(client.get("/book/?postal_code=999999"))

    assert "Hill Town Primary Health Centre" in exact
    assert "these are the centres in Hill District" in nearby
    assert "Hill Town Primary Health Centre" in nearby
    assert "We know no centre for the PIN code 999999" in unknown


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("region=NOWHERE", "region", "Choose a region from the list."),
        ("postal_code=12ab", "postal_code", "This is not a valid PIN code."),
        ("region=TS-N&date=3/3/2026", "date", "Enter a date as year-month-day"),
        ("region=TS-N&date=2026-02-30", "date", "Enter a date as year-month-day"),
        ("region=TS-N&date=2026-03-01", "date", "Choose today or a later day."),
        ("region=TS-N&vaccine=POLIO", "vaccine", "Choose a vaccine from the list."),
        ("region=TS-N&fee=cheap", "fee", "Choose free or paid."),
    ],
)
def test_it_explains_a_bad_search_beside_the_field(
    client: Client, query: str, field: str, message: str
) -> None:
    response = client.get(f"/book/?{query}")

    text = _text(response)
    assert response.status_code == 400
    assert f'<small id="id_{field}_error" class="error">{message}' in text
    assert f'id="id_{field}"' in text and 'aria-invalid="true"' in text


def test_it_answers_htmx_with_the_results_and_the_status_only(
    client: Client, session: Session
) -> None:
    response = client.get("/book/?region=TS-N-HIL", headers={"HX-Request": "true"})

    text = _text(response)
    assert "<html" not in text
    assert 'id="finder-status" role="status" class="finder-status" hx-swap-oob="true"' in text
    assert "Hill Town Primary Health Centre" in text


@pytest.mark.parametrize(("language", "district"), [("hi", "पहाड़ी ज़िला"), ("ta", "மலை மாவட்டம்")])
def test_it_finds_sessions_in_every_pack_language(
    client: Client, session: Session, language: str, district: str
) -> None:
    response = client.get("/book/?region=TS-N-HIL", headers={"Accept-Language": language})

    assert f'<html lang="{language}"' in _text(response)
    assert district in _text(response)
    assert f"/book/{session.public_id}/?slot=0900" in _text(response)


def test_it_lists_any_number_of_centres_in_a_fixed_number_of_queries(
    client: Client, hill: Region
) -> None:
    def add_centres(start: int, count: int) -> None:
        for number in range(start, start + count):
            facility = facility_create(
                by=None,
                code=f"TS-Q{number:02d}",
                names={"en": f"Clinic {number}"},
                kind="public",
                region=hill,
                opens_at=time(9),
                closes_at=time(17),
            )
            make_session(facility)
            make_session(facility, on=TOMORROW + timedelta(days=2), vaccine="COVAXIN")

    add_centres(0, 2)
    client.get("/book/?region=TS-N-HIL")  # warm the session and translation caches
    with CaptureQueriesContext(connection) as few:
        small = client.get("/book/?region=TS-N-HIL")
    add_centres(2, 8)
    with CaptureQueriesContext(connection) as many:
        large = client.get("/book/?region=TS-N-HIL")

    assert "2 centres have sessions" in _text(small)
    assert "10 centres have sessions" in _text(large)
    assert len(few) == len(many) <= 10, [q["sql"] for q in many.captured_queries]


# --- Booking ----------------------------------------------------------------------------------


def test_it_asks_visitors_to_sign_in_before_booking(client: Client, session: Session) -> None:
    response = client.get(f"/book/{session.public_id}/?slot=0900")

    assert response.status_code == 302
    assert response["Location"] == (
        f"/account/sign-in/?next=%2Fbook%2F{session.public_id}%2F%3Fslot%3D0900"
    )


def test_it_books_a_slot_and_shows_the_security_code(
    client: Client, asha: Beneficiary, session: Session
) -> None:
    form = _text(client.get(f"/book/{session.public_id}/?slot=0900"))
    assert 'value="0900" checked' in form
    assert f'value="{asha.reference}" checked' in form  # the only member is ticked
    assert "Hill Town Primary Health Centre" in form

    response = _post_booking(client, session, [asha])

    assert response.status_code == 302  # type: ignore[attr-defined]
    appointment = Appointment.objects.get(beneficiary=asha)
    assert response["Location"] == f"/book/booked/?a={appointment.public_id}"  # type: ignore[index]
    page = _text(client.get(response["Location"]))  # type: ignore[index]
    assert "Your vaccination is booked" in page
    assert f"<strong>{appointment.security_code}</strong>" in page
    assert "Tuesday 3 March 2026, 09:00–11:00" in page
    assert appointment.slot is not None and appointment.slot.starts_at == time(9)
    sms = Message.objects.get(template="booking_confirmed")
    assert appointment.security_code in sms.body


def test_it_books_several_members_at_once_each_with_a_code(
    client: Client, citizen: Account, session: Session
) -> None:
    members = [make_member(citizen, seed, name=f"Member {seed}") for seed in (1, 2, 3)]

    response = _post_booking(client, session, members, slot="1100")

    page = _text(client.get(response["Location"]))  # type: ignore[index]
    assert "Your vaccinations are booked" in page
    for appointment in Appointment.objects.filter(session=session):
        assert f"<strong>{appointment.security_code}</strong>" in page
        assert appointment.beneficiary.name in page
    assert Appointment.objects.filter(session=session).count() == 3


def test_it_shows_the_account_appointments_with_their_codes(
    client: Client, asha: Beneficiary, session: Session
) -> None:
    appointment = _book_now(asha, session)

    text = _text(client.get("/account/"))

    assert "Tue 3 Mar 2026, 09:00–11:00" in text
    assert appointment.security_code in text
    assert f"/account/appointments/{appointment.public_id}/cancel/" in text
    assert f"/account/appointments/{appointment.public_id}/move/" in text


def test_it_shows_the_account_in_a_fixed_number_of_queries(
    client: Client, citizen: Account, session: Session
) -> None:
    _book_now(make_member(citizen, 1), session)
    client.get("/account/")  # warm the translation caches
    with CaptureQueriesContext(connection) as few:
        client.get("/account/")
    for seed in (2, 3, 4):
        _book_now(make_member(citizen, seed), session)
    with CaptureQueriesContext(connection) as many:
        text = _text(client.get("/account/"))

    assert "4 of 4 members" in text
    assert len(few) == len(many), [q["sql"] for q in many.captured_queries]


def test_it_answers_htmx_bookings_with_the_form_or_a_redirect(
    client: Client, citizen: Account, session: Session
) -> None:
    refused = _post_booking(client, session, [], **{"HX-Request": "true"})
    assert "<html" not in _text(refused) and 'id="book-form"' in _text(refused)
    asha = make_member(citizen, 1, name="Asha")

    booked = _post_booking(client, session, [asha], **{"HX-Request": "true"})

    assert booked["HX-Redirect"].startswith("/book/booked/?a=")  # type: ignore[index]


def _refusal(response: object) -> str:
    assert response.status_code == 400, _text(response)  # type: ignore[attr-defined]
    return _text(response)


def test_it_asks_who_to_book_for_and_which_slot(
    client: Client, asha: Beneficiary, session: Session
) -> None:
    nobody = _refusal(_post_booking(client, session, []))
    no_slot = _refusal(_post_booking(client, session, [asha], slot=""))

    assert '<small id="id_beneficiaries_error" class="error">Choose who to book for.' in nobody
    assert '<small id="id_slot_error" class="error">Choose a time slot.' in no_slot
    for slot in ("2599", "0930", "9"):
        assert "Choose a time slot." in _refusal(_post_booking(client, session, [asha], slot=slot))
    assert not Appointment.objects.exists()


def test_it_enters_requests_in_the_fair_draw_during_the_window(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, release_at=NOW - timedelta(minutes=5))

    form = _text(client.get(f"/book/{session.public_id}/?slot=0900"))
    response = client.post(
        f"/book/{session.public_id}/",
        {"members": [asha.reference], "slot": "0900", "waitlist": "on"},
    )

    assert "fair draw" in form and "Enter the draw" in form
    assert response.status_code == 200
    assert "You are in the draw" in _text(response)
    entry = DrawEntry.objects.get(beneficiary=asha, session=session)
    assert entry.join_waitlist
    assert not Appointment.objects.exists()


def test_it_refuses_a_second_entry_in_the_same_draw(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, release_at=NOW - timedelta(minutes=5))
    _post_booking(client, session, [asha])

    text = _refusal(_post_booking(client, session, [asha]))

    assert 'role="alert"' in text
    assert DrawEntry.objects.filter(beneficiary=asha).count() == 1


def test_it_shows_a_session_that_has_not_opened_yet(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, release_at=NOW + timedelta(hours=2))

    form = _text(client.get(f"/book/{session.public_id}/"))
    text = _refusal(_post_booking(client, session, [asha]))

    assert "Booking opens at Mon 2 Mar, 11:00." in form
    assert "<button" not in form.split('id="book-form"')[1]
    assert "Booking for this session opens at" in text


def test_it_shows_a_full_dose(client: Client, citizen: Account, hill_phc: Facility) -> None:
    session = make_session(hill_phc, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    first, second = make_member(citizen, 1), make_member(citizen, 2)
    _book_now(first, session)

    text = _refusal(_post_booking(client, session, [second]))

    assert "No places are left for this dose in this session." in text


def test_it_shows_a_member_who_is_too_young(
    client: Client, citizen: Account, session: Session
) -> None:
    child = make_member(citizen, 5, birth_year=2015, name="Chotu")

    text = _refusal(_post_booking(client, session, [child]))

    assert "Too young for this vaccine until Jan. 1, 2033." in text


def test_it_shows_a_dose_that_is_already_booked(
    client: Client, asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    _book_now(asha, make_session(sea_hospital))

    text = _refusal(_post_booking(client, session, [asha]))

    assert "Asha already has an appointment for dose 1." in text


def test_it_shows_that_same_day_booking_has_closed(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, on=NOW.date())

    with time_machine.travel(
        timezone.make_aware(datetime.combine(NOW.date(), time(16))), tick=False
    ):
        text = _refusal(_post_booking(client, session, [asha]))

    assert "Booking for today closes at 15:00; choose another day." in text


def test_it_shows_refusals_in_the_pages_language(
    client: Client, asha: Beneficiary, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, release_at=NOW + timedelta(hours=2))

    response = client.post(
        f"/book/{session.public_id}/",
        {"members": [asha.reference], "slot": "0900"},
        headers={"Accept-Language": "hi"},
    )

    assert response.status_code == 400
    assert '<html lang="hi"' in _text(response)


def test_it_answers_404_for_unknown_sessions_and_other_accounts_members(
    client: Client, citizen: Account, session: Session, country: Country
) -> None:
    stranger = make_member(make_account(country, "+919800000002"), 7)

    assert client.get("/book/NOSUCHSESSION/").status_code == 404
    assert _post_booking(client, session, [stranger]).status_code == 404  # type: ignore[attr-defined]
    assert not Appointment.objects.exists()


# --- Cancelling and moving ------------------------------------------------------------------


def test_it_cancels_after_a_confirmation(
    client: Client, asha: Beneficiary, session: Session
) -> None:
    appointment = _book_now(asha, session)
    url = f"/account/appointments/{appointment.public_id}/cancel/"

    confirm = _text(client.get(url))
    assert "Cancel this appointment?" in confirm
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.BOOKED
    response = client.post(url)

    assert response["Location"] == "/account/"
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert "The appointment of Asha is cancelled." in _text(client.get("/account/"))
    again = client.post(url)
    assert again.status_code == 400
    assert "This appointment can no longer be cancelled or moved." in _text(again)


def test_it_moves_an_appointment_to_another_session(
    client: Client, asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    appointment = _book_now(asha, session)
    other = make_session(sea_hospital, on=TOMORROW + timedelta(days=1))

    finder = _text(client.get(f"/account/appointments/{appointment.public_id}/move/"))
    assert '<option value="TS-N-HIL" selected>' in finder  # starts near the booked centre
    assert "Moving the appointment of Asha" in finder
    elsewhere = _text(
        client.get(f"/account/appointments/{appointment.public_id}/move/?region=TS-S-SEA")
    )
    target = f"/account/appointments/{appointment.public_id}/move/{other.public_id}/"
    assert f'href="{target}?slot=1100"' in elsewhere
    form = _text(client.get(f"{target}?slot=1100"))
    assert 'value="1100" checked' in form and "Move the appointment" in form

    response = client.post(target, {"slot": "1100"})

    moved = Appointment.objects.get(beneficiary=asha, status=Appointment.Status.BOOKED)
    assert moved.session == other
    assert response["Location"] == f"/book/booked/?a={moved.public_id}&moved=1"
    assert "Your appointment is moved" in _text(client.get(response["Location"]))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_it_keeps_the_appointment_when_the_move_is_refused(
    client: Client, asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    appointment = _book_now(asha, session)
    closed = make_session(sea_hospital, release_at=NOW + timedelta(hours=3))

    response = client.post(
        f"/account/appointments/{appointment.public_id}/move/{closed.public_id}/",
        {"slot": "0900"},
    )

    assert response.status_code == 400
    assert "Booking for this session opens at" in _text(response)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_it_answers_404_for_another_accounts_appointment(
    client: Client, citizen: Account, session: Session, country: Country
) -> None:
    theirs = _book_now(make_member(make_account(country, "+919800000002"), 7), session)
    base = f"/account/appointments/{theirs.public_id}"

    for path in (
        f"{base}/cancel/",
        f"{base}/move/",
        f"{base}/move/{session.public_id}/",
        f"/book/booked/?a={theirs.public_id}",
        "/account/appointments/NOSUCHID/cancel/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post(f"{base}/cancel/").status_code == 404
    assert client.post(f"{base}/move/{session.public_id}/", {"slot": "1100"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Appointment.Status.BOOKED


def test_it_finds_appointments_only_through_their_account(
    citizen: Account, asha: Beneficiary, session: Session, country: Country
) -> None:
    mine = _book_now(asha, session)
    neighbour = make_account(country, "+919800000002")

    assert appointment_for_account(citizen, mine.public_id) == mine
    for account, public_id in [(neighbour, mine.public_id), (citizen, "NOSUCH"), (citizen, "")]:
        with pytest.raises(NotFound):
            appointment_for_account(account, public_id)
    Account.objects.filter(pk=citizen.pk).update(active=False)
    citizen.refresh_from_db()
    with pytest.raises(NotFound):
        appointment_for_account(citizen, mine.public_id)
