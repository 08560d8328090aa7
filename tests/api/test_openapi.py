"""The OpenAPI document lists every CoWIN path with CoWIN's field names."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_publishes_an_openapi_document(client: Client) -> None:
    response = client.get("/api/v2/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert sorted(document["paths"]) == [
        "/api/v2/admin/location/districts/{state_id}",
        "/api/v2/admin/location/states",
        "/api/v2/appointment/centers/public/findByLatLong",
        "/api/v2/appointment/sessions/public/calendarByCenter",
        "/api/v2/appointment/sessions/public/calendarByDistrict",
        "/api/v2/appointment/sessions/public/calendarByPin",
        "/api/v2/appointment/sessions/public/findByDistrict",
        "/api/v2/appointment/sessions/public/findByPin",
    ]
    centre = document["components"]["schemas"]["CalendarCentreOut"]["properties"]
    assert {"from", "to", "lat", "long", "vaccine_fees", "sessions"} <= set(centre)
    assert "from_" not in centre
    find_by_pin = document["paths"]["/api/v2/appointment/sessions/public/findByPin"]["get"]
    assert {p["name"]: p["required"] for p in find_by_pin["parameters"]} == {
        "pincode": True,
        "date": True,
    }
