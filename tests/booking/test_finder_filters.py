"""The finder's age, dose and location filters, and what each member of the account can book."""

import html
import re
from collections.abc import Iterator
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.factories import plan
from tests.people.test_pages import sign_in_on_pages
from vaxnet.booking import citizen_queries, services
from vaxnet.booking.availability import distance_km
from vaxnet.booking.services import appointment_book, appointment_cancel, dose_verdict
from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_create
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccines.eligibility import PastDose

from .test_appointments import NOW, make_member, make_session

pytestmark = pytest.mark.django_db

TOMORROW = (NOW + timedelta(days=1)).date()
# Ravi had his first dose a month ago: the second is due 84 days after it.
RAVI_FIRST = date(2026, 2, 1)
RAVI_SECOND = RAVI_FIRST + timedelta(days=84)  # 26 Apr 2026


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False):
        yield


def _text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def _centres(text: str) -> list[str]:
    """Return the names of the centres listed, in order."""
    return re.findall(r'<h3 id="centre-[^"]+"><a [^>]+>([^<]+)</a>', text)


def _sessions(text: str) -> list[str]:
    return re.findall(r'data-session="([^"]+)"', text)


# --- Age and dose -----------------------------------------------------------------------------


def test_it_keeps_the_sessions_whose_age_window_admits_the_age(
    client: Client, hill_phc: Facility
) -> None:
    young = plan(hill_phc, min_age_years=18, max_age_years=44)
    older = plan(hill_phc, min_age_years=45)

    def found(age: str) -> list[str]:
        response = client.get("/book/", {"region": "TS-N-HIL", "age": age})
        assert response.status_code == 200
        return _sessions(_text(response))

    assert found("17") == []
    assert found("18") == [young.public_id]
    assert found("44") == [young.public_id]
    assert found("45") == [older.public_id]
    assert found("120") == [older.public_id]
    assert found("") == [young.public_id, older.public_id]


def test_it_keeps_the_sessions_that_offer_the_dose(client: Client, hill_phc: Facility) -> None:
    both = plan(hill_phc, capacity={1: (4, 0), 2: (4, 0)})
    second = plan(hill_phc, capacity={2: (8, 0)})
    precaution = plan(hill_phc, capacity={3: (8, 0)})

    def found(dose: str) -> list[str]:
        return _sessions(_text(client.get("/book/", {"region": "TS-N", "dose": dose})))

    assert found("1") == [both.public_id]
    assert found("2") == [both.public_id, second.public_id]
    assert found("3") == [precaution.public_id]
    page = _text(client.get("/book/", {"region": "TS-N", "dose": "2"}))
    assert '<option value="2" selected>Dose 2</option>' in page
    assert '<option value="3">Dose 3</option>' in page  # the pack's longest series


# --- Location ---------------------------------------------------------------------------------


def test_it_finds_the_nearest_centres_first_within_the_radius_with_their_distance(
    client: Client, hill_phc: Facility, river_clinic: Facility, sea_hospital: Facility
) -> None:
    for facility in (hill_phc, river_clinic, sea_hospital):
        make_session(facility)
    apart = distance_km(28.6, 77.2, 28.7, 77.1)  # about 14.5 km

    near_hill = _text(client.get("/book/", {"lat": "28.6", "long": "77.2"}))
    both = _text(client.get("/book/", {"lat": "28.6", "long": "77.2", "radius": "20"}))
    near_river = _text(client.get("/book/", {"lat": "28.7", "lng": "77.1", "radius": "20"}))

    assert _centres(near_hill) == ["Hill Town Primary Health Centre"]  # 10 km by default
    assert "0.0 km away" in near_hill
    assert _centres(both) == ["Hill Town Primary Health Centre", "River Town Clinic"]
    assert f"{apart:.1f} km away" in both
    assert _centres(near_river) == ["River Town Clinic", "Hill Town Primary Health Centre"]
    assert "2 centres have sessions" in near_river
    assert 'value="28.7"' in near_river and 'value="77.1"' in near_river


def test_it_narrows_a_location_search_with_the_other_filters(
    client: Client, hill_phc: Facility, river_clinic: Facility
) -> None:
    make_session(hill_phc, vaccine="COVAXIN")
    make_session(river_clinic)

    found = _text(
        client.get(
            "/book/", {"lat": "28.65", "long": "77.15", "radius": "50", "vaccine": "COVISHIELD"}
        )
    )
    in_district = _text(
        client.get(
            "/book/", {"lat": "28.65", "long": "77.15", "radius": "50", "region": "TS-N-HIL"}
        )
    )

    assert _centres(found) == ["River Town Clinic"]
    assert _centres(in_district) == ["Hill Town Primary Health Centre"]


def test_it_pages_a_location_search_nearest_first(client: Client, hill: Region) -> None:
    for number in range(12):
        facility = facility_create(
            by=None,
            code=f"TS-L{number:02d}",
            names={"en": f"Clinic {number:02d}"},
            kind="public",
            region=hill,
            latitude=Decimal(f"{28.6 + number * 0.01:.6f}"),
            longitude=Decimal("77.2"),
            opens_at=time(9),
            closes_at=time(17),
        )
        make_session(facility)

    first = _text(client.get("/book/", {"lat": "28.6", "long": "77.2", "radius": "50"}))
    second = _text(
        client.get("/book/", {"lat": "28.6", "long": "77.2", "radius": "50", "page": "2"})
    )

    assert _centres(first) + _centres(second) == [f"Clinic {n:02d}" for n in range(12)]
    assert len(_centres(first)) == 10
    assert "Page 2 of 2" in second


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"region": "TS-N", "age": "old"}, "age", "Enter an age in whole years, from 0 to 120."),
        ({"region": "TS-N", "age": "121"}, "age", "Enter an age in whole years, from 0 to 120."),
        ({"region": "TS-N", "age": "-1"}, "age", "Enter an age in whole years, from 0 to 120."),
        ({"region": "TS-N", "dose": "0"}, "dose", "Choose a dose from the list."),
        ({"region": "TS-N", "dose": "two"}, "dose", "Choose a dose from the list."),
        ({"lat": "91", "long": "77.2"}, "lat", "Enter a latitude from -90 to 90"),
        ({"lat": "28.6", "long": "1e3"}, "long", "Enter a longitude from -180 to 180"),
        ({"lat": "28.6"}, "long", "Enter a longitude from -180 to 180"),
        ({"lat": "nan", "long": "inf"}, "lat", "Enter a latitude from -90 to 90"),
        ({"lat": "28.6", "long": "77.2", "radius": "60"}, "radius", "from 1 to 50 km"),
        ({"lat": "28.6", "long": "77.2", "radius": "0"}, "radius", "from 1 to 50 km"),
        ({"lat": "28.6", "long": "77.2", "radius": "far"}, "radius", "from 1 to 50 km"),
    ],
)
def test_it_explains_a_bad_filter_beside_its_field(
    client: Client, params: dict[str, str], field: str, message: str
) -> None:
    response = client.get("/book/", params)

    text = _text(response)
    assert response.status_code == 400
    assert f'id="id_{field}_error" class="error">' in text
    assert message in text
    assert re.search(rf'<(input|select) id="id_{field}"[^>]*aria-invalid="true"', text)
    assert f'href="#id_{field}"' in text  # the summary links to the field


def test_it_offers_near_me_from_a_local_script_and_typed_fields_without_it(
    client: Client,
) -> None:
    text = _text(client.get("/book/"))

    assert '<script src="/static/vaxnet/near-me.js" defer></script>' in text
    assert '<button type="button" id="near-me" class="secondary near-me" hidden' in text
    assert 'data-denied="You did not allow this site to know your location.' in text
    assert 'id="near-me-status" class="near-me-status" role="status"' in text
    assert '<label for="id_lat">Latitude</label>' in text
    assert '<label for="id_long">Longitude</label>' in text
    script = finders.find("vaxnet/near-me.js")
    assert isinstance(script, str)
    with open(script, encoding="utf-8") as source:
        assert "getCurrentPosition" in source.read()


def test_it_answers_htmx_location_searches_with_the_results_and_distances(
    client: Client, hill_phc: Facility
) -> None:
    make_session(hill_phc)

    response = client.get("/book/", {"lat": "28.6", "long": "77.2"}, headers={"HX-Request": "true"})

    text = _text(response)
    assert "<form" not in text
    assert "0.0 km away" in text
    assert 'hx-swap-oob="true"' in text and "1 centre has sessions" in text


# --- What each member can book ----------------------------------------------------------------


@pytest.fixture
def family(client: Client) -> dict[str, Beneficiary]:
    account = sign_in_on_pages(client)
    return {
        "Asha": make_member(account, 1, name="Asha"),
        "Ravi": make_member(account, 2, name="Ravi"),
        "Kiran": make_member(account, 3, name="Kiran", birth_year=2010),
        "Devi": make_member(account, 4, name="Devi"),
    }


def _history(member: object) -> list[PastDose]:
    """Ravi is waiting for his second dose; Devi has had all three."""
    name = getattr(member, "name", "")
    if name == "Ravi":
        return [PastDose("COVISHIELD", "covid19", RAVI_FIRST)]
    if name == "Devi":
        return [
            PastDose("COVISHIELD", "covid19", date(2025, 1, 1)),
            PastDose("COVISHIELD", "covid19", date(2025, 4, 1)),
            PastDose("COVISHIELD", "covid19", date(2025, 11, 1)),
        ]
    return []


@pytest.fixture
def histories(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both readers are told, so that the histories need no dose records made through the day.
    monkeypatch.setattr(
        citizen_queries, "dose_histories", lambda members: {m.pk: _history(m) for m in members}
    )
    monkeypatch.setattr(services, "dose_history", _history)


def _verdicts(text: str, session: str) -> dict[str, str]:
    """Return, per member, the line the session shows about them."""
    block = text.split(f'data-session="{session}"', 1)[1].split("</ul>", 1)[0]
    lines = re.findall(r'data-code="([^"]+)">\s*(.*?)\s*</li>', block, re.S)
    found = {}
    for code, line in lines:
        plain = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", line)).strip())
        found[plain.split(" — ")[0]] = f"{code}: {plain.split(' — ', 1)[1]}"
    return found


def test_it_shows_per_session_which_member_can_book_which_dose(
    client: Client, family: dict[str, Beneficiary], histories: None, hill_phc: Facility
) -> None:
    session = make_session(hill_phc)

    text = _text(client.get("/book/", {"region": "TS-N"}))

    assert _verdicts(text, session.public_id) == {
        "Asha": "bookable: dose 1",
        "Ravi": "too_early: not yet: dose 2 from 26 Apr 2026",
        "Kiran": "too_young: Too young for this vaccine until Jan. 1, 2028.",
        "Devi": "series_complete: All doses of this vaccine have been given.",
    }
    assert 'class="member-no"' in text and 'class="member-yes"' in text
    assert '<select id="id_for" name="for"' in text
    assert f'<option value="{family["Ravi"].reference}">Ravi</option>' in text


def test_it_says_when_a_session_lacks_the_dose_or_the_age_group(
    client: Client, family: dict[str, Beneficiary], histories: None, hill_phc: Facility
) -> None:
    second_only = make_session(hill_phc, capacity={2: (8, 0)})
    covaxin_for_18 = plan(hill_phc, vaccine="COVAXIN")

    text = _text(client.get("/book/", {"region": "TS-N"}))

    assert _verdicts(text, second_only.public_id)["Asha"] == (
        "dose_not_offered: needs dose 1, not offered here"
    )
    assert _verdicts(text, covaxin_for_18.public_id)["Kiran"] == (
        "age_not_in_session: not in this session's age group"
    )
    assert _verdicts(text, covaxin_for_18.public_id)["Ravi"] == (
        "other_product: The earlier doses were of another vaccine that this one cannot follow."
    )


def test_it_narrows_to_what_the_chosen_member_can_book(
    client: Client, family: dict[str, Beneficiary], histories: None, hill_phc: Facility
) -> None:
    first = make_session(hill_phc, capacity={1: (8, 0)})
    covaxin_for_15 = plan(hill_phc, vaccine="COVAXIN", min_age_years=15)
    covaxin_for_18 = plan(hill_phc, vaccine="COVAXIN", on=TOMORROW + timedelta(days=1))
    later = make_session(hill_phc, capacity={2: (8, 0)}, on=RAVI_SECOND)

    def found(member: str, day: date = TOMORROW) -> list[str]:
        params = {"region": "TS-N", "for": family[member].reference, "date": day.isoformat()}
        response = client.get("/book/", params)
        assert response.status_code == 200
        return _sessions(_text(response))

    # Asha: any vaccine's first dose, for adults.
    assert found("Asha") == [covaxin_for_15.public_id, first.public_id, covaxin_for_18.public_id]
    # Ravi: only COVISHIELD's second dose, from 26 April; COVAXIN cannot follow it.
    assert found("Ravi") == []
    assert found("Ravi", RAVI_SECOND - timedelta(days=3)) == [later.public_id]
    # Kiran, 16: too young for COVISHIELD, and COVAXIN only in a session for 15 and over.
    assert found("Kiran") == [covaxin_for_15.public_id]
    # Devi has had every COVISHIELD dose, and COVAXIN cannot follow it.
    assert found("Devi") == []
    everyone = _text(client.get("/book/", {"region": "TS-N", "for": ""}))
    assert len(_sessions(everyone)) == 3
    kiran_page = _text(client.get("/book/", {"region": "TS-N", "for": family["Kiran"].reference}))
    assert f'<option value="{family["Kiran"].reference}" selected>Kiran</option>' in kiran_page


def test_it_judges_members_by_the_rule_booking_applies(
    client: Client, family: dict[str, Beneficiary], histories: None, hill_phc: Facility
) -> None:
    sessions = [
        make_session(hill_phc),
        make_session(hill_phc, capacity={2: (8, 0)}, on=RAVI_SECOND),
        plan(hill_phc, vaccine="COVAXIN", min_age_years=15),
    ]
    for session in sessions:
        shown = citizen_queries.bookable_for(list(family.values()), [session])[session.pk]
        for entry in shown:
            slot = session.slots.order_by("starts_at").first()
            assert slot is not None
            assert entry.verdict == dose_verdict(entry.member, session)
            if entry.verdict.bookable:
                (booked,) = appointment_book(
                    beneficiaries=[entry.member], session=session, slot=slot
                )
                assert booked.dose_number == entry.verdict.dose_number
                appointment_cancel(appointment=booked)
            else:
                with pytest.raises(DomainError) as refused:
                    appointment_book(beneficiaries=[entry.member], session=session, slot=slot)
                assert refused.value.code == entry.verdict.code


def test_it_refuses_someone_not_of_the_account(
    client: Client, family: dict[str, Beneficiary], country: Country
) -> None:
    other = make_member(
        Account.objects.create(country=country, phone="+919800000001"), 9, name="Stranger"
    )

    response = client.get("/book/", {"region": "TS-N", "for": other.reference})

    assert response.status_code == 400
    assert 'id="id_for_error" class="error">Choose someone from the list.' in _text(response)
    assert "Stranger" not in _text(response)


def test_it_judges_nobody_for_visitors(client: Client, hill_phc: Facility) -> None:
    make_session(hill_phc)

    text = _text(client.get("/book/", {"region": "TS-N", "for": "12345678901234"}))

    assert 'id="id_for"' not in text
    assert "member-verdicts" not in text
    assert "Hill Town Primary Health Centre" in text


def test_it_finds_for_a_member_in_a_fixed_number_of_queries(
    client: Client, family: dict[str, Beneficiary], hill: Region
) -> None:
    def add_centres(start: int, count: int) -> None:
        for number in range(start, start + count):
            facility = facility_create(
                by=None,
                code=f"TS-Q{number:02d}",
                names={"en": f"Clinic {number}"},
                kind="public",
                region=hill,
                latitude=Decimal(f"{28.6 + number * 0.001:.6f}"),
                longitude=Decimal("77.2"),
                opens_at=time(9),
                closes_at=time(17),
            )
            make_session(facility)
            make_session(facility, on=TOMORROW + timedelta(days=2), vaccine="COVAXIN")

    searches = [
        {"region": "TS-N-HIL"},
        {"region": "TS-N-HIL", "for": family["Asha"].reference, "age": "40", "dose": "1"},
        {"lat": "28.6", "long": "77.2", "radius": "5"},
        {"lat": "28.6", "long": "77.2", "for": family["Asha"].reference, "age": "40"},
    ]
    add_centres(0, 2)
    for search in searches:
        client.get("/book/", search)  # warm the session and translation caches
    few = []
    for search in searches:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/book/", search).status_code == 200
        few.append(len(queries))
    add_centres(2, 8)
    many = []
    for search in searches:
        with CaptureQueriesContext(connection) as queries:
            text = _text(client.get("/book/", search))
        many.append(len(queries))
        assert "10 centres have sessions" in text, search

    assert few == many, (few, many)
    # One of them reads the members' dose records, once whatever the number of centres.
    assert max(many) <= 18, [q["sql"] for q in queries.captured_queries]
