"""States and districts: CoWIN's ids are the regions' numbers, names in two languages."""

import pytest
from django.test import Client

from tests.api.factories import get
from vaxnet.api.cowin_v2_schemas import DistrictsOut, StatesOut

pytestmark = pytest.mark.django_db


def test_it_lists_the_states_by_number(client: Client) -> None:
    response = get(client, "admin/location/states")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "states": [
            {"state_id": 1, "state_name": "North State", "state_name_l": "North State"},
            {"state_id": 2, "state_name": "South State", "state_name_l": "South State"},
        ],
        "ttl": 24,
    }
    StatesOut.model_validate(response.json())


@pytest.mark.parametrize("header", ["hi", "hi-IN", "hi_IN", "fr;q=0.9, hi;q=0.8", "en;q=0.1, hi"])
def test_it_names_the_states_in_the_language_asked_for(client: Client, header: str) -> None:
    states = get(client, "admin/location/states", language=header).json()["states"]

    assert states[0] == {"state_id": 1, "state_name": "North State", "state_name_l": "उत्तर राज्य"}


@pytest.mark.parametrize("header", ["", "fr", "*", "hi;q=0", "xx-YY, ;q=abc", "a" * 500])
def test_it_falls_back_to_the_first_pack_language(client: Client, header: str) -> None:
    states = get(client, "admin/location/states", language=header).json()["states"]

    assert states[1]["state_name_l"] == "South State"


def test_it_lists_the_districts_of_a_state(client: Client) -> None:
    response = get(client, "admin/location/districts/2", language="ta")

    assert response.status_code == 200
    assert response.json() == {
        "districts": [
            {"district_id": 201, "district_name": "Sea District", "district_name_l": "கடல் மாவட்டம்"},
            {
                "district_id": 202,
                "district_name": "Forest District",
                "district_name_l": "காடு மாவட்டம்",
            },
        ],
        "ttl": 24,
    }
    DistrictsOut.model_validate(response.json())


@pytest.mark.parametrize(
    "state_id", ["0", "-1", "3", "101", "abc", "1.5", "1e3", "+1", "9" * 30, "%20", "١"]
)
def test_it_refuses_an_unknown_or_malformed_state(client: Client, state_id: str) -> None:
    response = get(client, f"admin/location/districts/{state_id}")

    assert response.status_code == 400
    assert response.json() == {"errorCode": "USRRES0010", "error": "Invalid state_id"}
