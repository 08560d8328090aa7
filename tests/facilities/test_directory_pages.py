"""The public pages: home, the centre directory and a centre's page, in every pack language."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_create
from vaxnet.geo.models import Region
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db


def _text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def test_it_shows_the_home_page_with_the_country(client: Client, hill_phc: Facility) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert "Testland" in _text(response)
    assert '<main id="main"' in _text(response)
    assert 'href="#main"' in _text(response)  # the skip link


def test_it_lists_all_centres(client: Client, hill_phc: Facility, sea_hospital: Facility) -> None:
    response = client.get("/centres/")

    assert response.status_code == 200
    assert "Hill Town Primary Health Centre" in _text(response)
    assert "Sea Port Hospital" in _text(response)
    assert "3 centres found." in _text(response)


def test_it_filters_by_state_and_by_district(client: Client) -> None:
    north = _text(client.get("/centres/?region=TS-N"))
    hill = _text(client.get("/centres/?region=TS-N-HIL"))

    assert "River Town Clinic" in north and "Sea Port Hospital" not in north
    assert "Hill Town Primary Health Centre" in hill and "River Town Clinic" not in hill


def test_it_filters_by_postal_code(client: Client) -> None:
    response = client.get("/centres/?postal_code=600001")

    assert "Sea Port Hospital" in _text(response)
    assert "1 centre found." in _text(response)


def test_it_falls_back_to_the_district_of_a_postal_code_without_centres(client: Client) -> None:
    response = client.get("/centres/?postal_code=110002")

    assert response.status_code == 200
    assert "No centre has the PIN code 110002" in _text(response)
    assert "Hill Town Primary Health Centre" in _text(response)


def test_it_says_so_for_an_unknown_postal_code(client: Client) -> None:
    response = client.get("/centres/?postal_code=999999")

    assert response.status_code == 200
    assert "We know no centre for the PIN code 999999" in _text(response)
    assert "0 centres found." in _text(response)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("postal_code=12ab", "This is not a valid PIN code."),
        ("region=NOWHERE", "Choose a region from the list."),
        ("kind=charity", "Choose government or private."),
    ],
)
def test_it_explains_bad_searches_with_a_400(client: Client, query: str, message: str) -> None:
    response = client.get(f"/centres/?{query}")

    assert response.status_code == 400
    assert message in _text(response)
    assert 'aria-invalid="true"' in _text(response) or "kind" in query


def test_it_filters_by_kind(client: Client) -> None:
    response = client.get("/centres/?kind=private")

    assert "River Town Clinic" in _text(response)
    assert "Sea Port Hospital" not in _text(response)


def test_it_answers_htmx_with_the_results_only(client: Client) -> None:
    response = client.get("/centres/?region=TS-S", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in _text(response)
    assert "Sea Port Hospital" in _text(response)


def test_it_pages_long_lists_in_a_fixed_number_of_queries(client: Client, hill: Region) -> None:
    for number in range(45):
        facility_create(
            by=None,
            code=f"TS-X{number:02d}",
            names={"en": f"Clinic {number}"},
            kind="private",
            region=hill,
        )
    client.get("/centres/")  # warm the session and translation caches

    with CaptureQueriesContext(connection) as first:
        page1 = client.get("/centres/")
    with CaptureQueriesContext(connection) as third:
        page3 = client.get("/centres/?page=3")

    assert "Page 1 of 3" in _text(page1)
    assert "Page 3 of 3" in _text(page3)
    assert len(first) == len(third) <= 8, [q["sql"] for q in first.captured_queries]


def test_it_ignores_a_page_number_that_is_not_one(client: Client) -> None:
    assert client.get("/centres/?page=abc").status_code == 200
    assert client.get("/centres/?page=999").status_code == 200


def test_it_shows_a_centre_with_its_coming_sessions(client: Client, river_clinic: Facility) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    tomorrow = timezone.localdate() + timedelta(days=1)
    session_create(
        by=None,
        facility=river_clinic,
        on=tomorrow,
        vaccine=vaccine,
        capacity={1: (25, 10), 2: (15, 10)},
        slots=[SlotSpec(time(9), time(11), 20), SlotSpec(time(11), time(13), 20)],
        release_at=timezone.make_aware(datetime.combine(tomorrow, time(0))),
        min_age_years=18,
    )

    response = client.get(f"/centres/{river_clinic.public_id}/")

    text = _text(response)
    assert response.status_code == 200
    assert "River Town Clinic" in text
    assert "COVISHIELD" in text
    assert "09:00–11:00" in text
    assert "18 years and over" in text
    assert "<td>40</td>" in text


def test_it_answers_404_for_an_unknown_or_inactive_centre(
    client: Client, hill_phc: Facility
) -> None:
    assert client.get("/centres/NOSUCHID00/").status_code == 404
    Facility.objects.filter(pk=hill_phc.pk).update(active=False)
    assert client.get(f"/centres/{hill_phc.public_id}/").status_code == 404


def test_it_never_shows_database_ids_in_centre_links(client: Client, hill_phc: Facility) -> None:
    text = _text(client.get("/centres/"))

    assert f"/centres/{hill_phc.public_id}/" in text
    assert f"/centres/{hill_phc.pk}/" not in text


@pytest.mark.parametrize(("language", "name"), [("hi", "हिल टाउन"), ("ta", "மலை நகர")])
def test_it_shows_names_in_the_chosen_language(client: Client, language: str, name: str) -> None:
    response = client.get("/centres/", headers={"Accept-Language": language})

    assert response.status_code == 200
    assert f'<html lang="{language}"' in _text(response)
    assert name in _text(response)


def test_it_switches_language_with_the_form_and_keeps_the_page(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "ta", "next": "/centres/"})

    assert response.status_code == 302
    assert response["Location"] == "/centres/"
    assert '<html lang="ta"' in _text(client.get("/centres/"))


def test_it_offers_only_the_pack_languages(client: Client) -> None:
    text = _text(client.get("/"))

    assert 'value="hi"' in text and 'value="ta"' in text and 'value="en"' in text
    assert 'value="sw"' not in text


def test_it_answers_the_health_check(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
