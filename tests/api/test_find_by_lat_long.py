"""findByLatLong: the nearest active centres within 50 km, nearest first."""

from typing import Any

import pytest
from django.test import Client

from tests.api.factories import add_centre, get
from vaxnet.api.cowin_v2_schemas import NearbyCentresOut
from vaxnet.booking.availability import distance_km
from vaxnet.facilities.models import Facility

pytestmark = pytest.mark.django_db

FIELDS = {
    "center_id", "name", "name_l", "district_name", "district_name_l", "state_name",
    "state_name_l", "location", "location_l", "pincode", "block_name", "block_name_l", "lat",
    "long",
}  # fmt: skip


def _near(client: Client, lat: str, long: str, language: str = "") -> list[dict[str, Any]]:
    response = get(
        client, "appointment/centers/public/findByLatLong", language=language, lat=lat, long=long
    )
    assert response.status_code == 200, response.content
    assert response.json()["ttl"] == 24
    NearbyCentresOut.model_validate(response.json())
    return response.json()["centers"]


def test_it_lists_the_nearest_centres_first(
    client: Client, hill_phc: Facility, river_clinic: Facility, sea_hospital: Facility
) -> None:
    near_hill = _near(client, "28.61", "77.19")
    near_river = _near(client, "28.69", "77.11", language="hi")

    assert [c["center_id"] for c in near_hill] == [hill_phc.pk, river_clinic.pk]
    assert [c["center_id"] for c in near_river] == [river_clinic.pk, hill_phc.pk]
    assert set(near_hill[0]) == FIELDS
    assert near_hill[0] == {
        "center_id": hill_phc.pk,
        "name": "Hill Town Primary Health Centre",
        "name_l": "Hill Town Primary Health Centre",
        "district_name": "Hill District",
        "district_name_l": "Hill District",
        "state_name": "North State",
        "state_name_l": "North State",
        "location": "1 Main Road",
        "location_l": "",
        "pincode": 110001,
        "block_name": "",
        "block_name_l": "",
        "lat": 28.6,
        "long": 77.2,
    }
    assert near_river[0]["name_l"] == "रिवर टाउन क्लिनिक"


def test_it_keeps_within_fifty_kilometres(client: Client, hill_phc: Facility) -> None:
    inside = add_centre("TS-IN", latitude="29.0400", longitude="77.2000")  # 48.9 km north
    add_centre("TS-OUT", latitude="29.0600", longitude="77.2000")  # 51.2 km north

    found = _near(client, "28.6", "77.2")

    assert distance_km(28.6, 77.2, 29.04, 77.2) < 50 < distance_km(28.6, 77.2, 29.06, 77.2)
    assert [c["center_id"] for c in found] == [hill_phc.pk, found[1]["center_id"], inside.pk]


def test_it_gives_at_most_twenty_centres(client: Client, hill_phc: Facility) -> None:
    added = [
        add_centre(f"TS-N{i:02d}", latitude=f"{28.6 + (i + 1) * 0.005:.4f}", longitude="77.2")
        for i in range(25)
    ]

    found = _near(client, "28.6", "77.2")

    assert [c["center_id"] for c in found] == [hill_phc.pk] + [c.pk for c in added[:19]]


def test_it_skips_centres_without_coordinates_and_inactive_ones(
    client: Client, hill_phc: Facility, river_clinic: Facility
) -> None:
    add_centre("TS-NOWHERE")
    Facility.objects.filter(pk=river_clinic.pk).update(active=False)

    assert [c["center_id"] for c in _near(client, "28.6", "77.2")] == [hill_phc.pk]


def test_it_finds_nothing_far_from_every_centre(client: Client) -> None:
    assert _near(client, "-33.9", "18.4") == []


def test_it_finds_centres_across_the_antimeridian(client: Client) -> None:
    east = add_centre("TS-EAST", region="TS-S-SEA", latitude="-16.5", longitude="179.9500")
    west = add_centre("TS-WEST", region="TS-S-SEA", latitude="-16.5", longitude="-179.9000")

    from_west = _near(client, "-16.5", "-179.95")
    from_east = _near(client, "-16.5", "179.99")

    assert [c["center_id"] for c in from_west] == [west.pk, east.pk]
    assert [c["center_id"] for c in from_east] == [east.pk, west.pk]


def test_it_finds_centres_across_a_pole(client: Client) -> None:
    station = add_centre("TS-POLE", region="TS-S-SEA", latitude="89.9000", longitude="0")

    assert [c["center_id"] for c in _near(client, "89.9", "180")] == [station.pk]
    assert [c["center_id"] for c in _near(client, "90", "-42")] == [station.pk]


def test_it_measures_distances_along_the_earth() -> None:
    assert distance_km(28.6, 77.2, 28.6, 77.2) == 0
    # Delhi to Chennai, about 1,760 km.
    assert 1750 < distance_km(28.6139, 77.209, 13.0827, 80.2707) < 1770
    assert distance_km(0, 179.9, 0, -179.9) == pytest.approx(22.24, abs=0.01)
