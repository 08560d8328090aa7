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
        "/api/v2/appointment/appointmentslip/download",
        "/api/v2/appointment/beneficiaries",
        "/api/v2/appointment/cancel",
        "/api/v2/appointment/centers/public/findByLatLong",
        "/api/v2/appointment/reschedule",
        "/api/v2/appointment/schedule",
        "/api/v2/appointment/sessions/public/calendarByCenter",
        "/api/v2/appointment/sessions/public/calendarByDistrict",
        "/api/v2/appointment/sessions/public/calendarByPin",
        "/api/v2/appointment/sessions/public/findByDistrict",
        "/api/v2/appointment/sessions/public/findByPin",
        "/api/v2/auth/generateMobileOTP",
        "/api/v2/auth/public/confirmOTP",
        "/api/v2/auth/public/generateOTP",
        "/api/v2/auth/validateMobileOtp",
        "/api/v2/registration/certificate/public/download",
    ]
    centre = document["components"]["schemas"]["CalendarCentreOut"]["properties"]
    assert {"from", "to", "lat", "long", "vaccine_fees", "sessions"} <= set(centre)
    assert "from_" not in centre
    find_by_pin = document["paths"]["/api/v2/appointment/sessions/public/findByPin"]["get"]
    assert {p["name"]: p["required"] for p in find_by_pin["parameters"]} == {
        "pincode": True,
        "date": True,
    }


def test_it_documents_the_signed_in_calls_with_cowins_field_names(client: Client) -> None:
    document = client.get("/api/v2/openapi.json").json()

    schemas = document["components"]["schemas"]
    assert {"from", "to", "slot", "appointment_id"} <= set(schemas["AppointmentOut"]["properties"])
    assert set(schemas["CancelIn"]["properties"]) == {"appointment_id", "beneficiariesToCancel"}
    assert set(schemas["ValidatedOut"]["properties"]) == {"token", "isNewAccount"}
    schedule = document["paths"]["/api/v2/appointment/schedule"]["post"]
    assert schedule["security"] == [{"CowinBearer": []}]
    assert {"400", "401", "409", "429"} <= set(schedule["responses"])
