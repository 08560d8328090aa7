"""Regions carry their headquarters' coordinates, so that demo centres can be found by location."""

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client, override_settings

from vaxnet.booking.availability import distance_km
from vaxnet.countries.pack import read_pack
from vaxnet.countries.services import country_load
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region

pytestmark = pytest.mark.django_db

FIND_BY_LAT_LONG = "/api/v2/appointment/centers/public/findByLatLong"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _demo(*args: str) -> None:
    with override_settings(VAXNET_DEV=True):
        call_command("demo", "--days", "0", *args, stdout=StringIO())


def _km(facility: Facility, region: Region) -> float:
    assert facility.latitude is not None and facility.longitude is not None
    assert region.latitude is not None and region.longitude is not None
    return distance_km(
        float(facility.latitude),
        float(facility.longitude),
        float(region.latitude),
        float(region.longitude),
    )


def test_it_refuses_half_a_location_in_the_database(hill: Region) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.filter(pk=hill.pk).update(longitude=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.filter(pk=hill.pk).update(latitude=91)


def test_it_finds_demo_centres_near_a_district_headquarters(client: Client, hill: Region) -> None:
    _demo("--facilities", "12")
    in_hill = Facility.objects.filter(code__startswith="DEMO-", region=hill)
    assert in_hill.count() == 3

    response = client.get(FIND_BY_LAT_LONG, {"lat": "28.6", "long": "77.2"})

    assert response.status_code == 200, response.content
    found = response.json()["centers"]
    ids = [c["center_id"] for c in found]
    assert set(in_hill.values_list("pk", flat=True)) <= set(ids)
    distances = [distance_km(28.6, 77.2, c["lat"], c["long"]) for c in found]
    assert distances == sorted(distances)
    assert all(km < 50 for km in distances)
    # Sea District's centres are 1,700 km away: not near Hill District.
    assert not {c["district_name"] for c in found} - {"Hill District", "River District"}


def test_it_places_india_demo_centres_near_their_district_headquarters(client: Client) -> None:
    country_load(pack=read_pack("IN"))
    leaves = Region.objects.filter(country__code="IN", depth__gte=1, children__isnull=True)
    assert not leaves.filter(latitude__isnull=True).exists()

    # One centre for each district (and each state or UT listed without districts).
    _demo("--country", "IN", "--facilities", str(leaves.count()))

    centres = Facility.objects.filter(country__code="IN", code__startswith="DEMO-")
    assert centres.count() == leaves.count()
    assert set(centres.values_list("region", flat=True)) == set(leaves.values_list("pk", flat=True))
    for centre in centres.select_related("region"):
        assert _km(centre, centre.region) < 15, centre.region.code

    # A deployment for India finds Madurai's centre from Madurai's headquarters.
    with override_settings(VAXNET_COUNTRY="IN"):
        response = client.get(FIND_BY_LAT_LONG, {"lat": "9.92", "long": "78.12"})
    assert response.status_code == 200, response.content
    found = response.json()["centers"]
    assert found[0]["district_name"] == "Madurai"
    # The others are neighbours within 50 km (Sivaganga, Virudhunagar), not far-off districts.
    assert all(distance_km(9.92, 78.12, c["lat"], c["long"]) < 50 for c in found)
