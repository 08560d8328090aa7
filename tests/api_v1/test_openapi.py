"""The OpenAPI document lists every v1 endpoint, and its page is served without a CDN."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_lists_every_endpoint(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {path: sorted(methods) for path, methods in paths.items()} == {
        "/api/v1/auth/otp": ["post"],
        "/api/v1/auth/token": ["post"],
        "/api/v1/auth/sign-out": ["post"],
        "/api/v1/beneficiaries": ["get", "post"],
        "/api/v1/beneficiaries/{reference}": ["delete", "patch"],
        "/api/v1/sessions": ["get"],
        "/api/v1/appointments": ["get", "post"],
        "/api/v1/appointments/{appointment_id}/cancel": ["post"],
        "/api/v1/appointments/{appointment_id}/reschedule": ["post"],
        "/api/v1/draw-entries": ["get", "post"],
        "/api/v1/waitlist": ["get", "post"],
        "/api/v1/waitlist/{entry_id}": ["delete"],
        "/api/v1/waitlist/offers": ["get"],
        "/api/v1/waitlist/offers/{offer_id}/accept": ["post"],
        "/api/v1/waitlist/offers/{offer_id}/decline": ["post"],
        "/api/v1/stock/devices/readings": ["post"],
        "/api/v1/stock/stores": ["get"],
        "/api/v1/stock/stores/{store_id}": ["get"],
        "/api/v1/stock/stores/{store_id}/moves": ["get"],
        "/api/v1/stock/batches": ["post"],
        "/api/v1/stock/batches/{batch_id}/recall": ["post"],
        "/api/v1/stock/stores/{store_id}/receipts": ["post"],
        "/api/v1/stock/stores/{store_id}/wastage": ["post"],
        "/api/v1/stock/stores/{store_id}/counts": ["post"],
        "/api/v1/stock/adjustments/{adjustment_id}/decision": ["post"],
        "/api/v1/stock/stores/{store_id}/transfers": ["post"],
        "/api/v1/stock/transfers/{transfer_id}": ["get"],
        "/api/v1/stock/transfers/{transfer_id}/receipt": ["post"],
        "/api/v1/stock/transfers/{transfer_id}/resolution": ["post"],
        "/api/v1/stock/stores/{store_id}/requisitions": ["post"],
        "/api/v1/stock/requisitions/{requisition_id}": ["get"],
        "/api/v1/stock/requisitions/{requisition_id}/approval": ["post"],
        "/api/v1/stock/requisitions/{requisition_id}/rejection": ["post"],
        "/api/v1/stock/requisitions/{requisition_id}/dispatch": ["post"],
        "/api/v1/stock/stores/{store_id}/issues": ["post"],
        "/api/v1/stock/stores/{store_id}/returns": ["post"],
        "/api/v1/stock/sessions/{session_id}/stock-close": ["post"],
        "/api/v1/stock/stores/{store_id}/equipment": ["post"],
        "/api/v1/stock/equipment/{equipment_id}/readings": ["post"],
        "/api/v1/stock/excursions/{excursion_id}/acknowledgement": ["post"],
        "/api/v1/stock/reports/on-hand": ["get"],
        "/api/v1/stock/reports/in-transit": ["get"],
        "/api/v1/stock/reports/consumption": ["get"],
        "/api/v1/stock/reports/wastage": ["get"],
        "/api/v1/stock/reports/days-of-supply": ["get"],
        "/api/v1/stock/alerts": ["get"],
        "/api/v1/facilities/{facility_id}/sessions/today": ["get"],
        "/api/v1/sessions/{session_id}/appointments": ["get"],
        "/api/v1/appointments/{appointment_id}/check-in": ["post"],
        "/api/v1/sessions/{session_id}/walk-ins": ["post"],
        "/api/v1/sessions/{session_id}/queue": ["get"],
        "/api/v1/appointments/{appointment_id}/vaccination": ["post"],
        "/api/v1/appointments/{appointment_id}/not-given": ["post"],
        "/api/v1/sync/vaccinations": ["post"],
        "/api/v1/sessions/{public_id}/close": ["post"],
        "/api/v1/sessions/{public_id}/summary": ["get"],
        "/api/v1/vaccinations/{public_id}/entered-in-error": ["post"],
        "/api/v1/vaccinations/{public_id}/correction": ["post"],
        "/api/v1/beneficiaries/{reference}/history": ["get"],
        "/api/v1/merges": ["post"],
        "/api/v1/merges/{merge_id}/undo": ["post"],
        "/api/v1/aefi": ["get", "post"],
        "/api/v1/aefi/{public_id}": ["get"],
        "/api/v1/aefi/{public_id}/follow-up": ["post"],
        "/api/v1/aefi/{public_id}/close": ["post"],
        "/api/v1/beneficiaries/{reference}/aefi": ["post"],
        "/api/v1/beneficiaries/{reference}/corrections": ["get", "post"],
        "/api/v1/corrections": ["get"],
        "/api/v1/corrections/{public_id}/decision": ["post"],
        "/api/v1/certificates/verify": ["post"],
        "/api/v1/beneficiaries/{reference}/certificates": ["get"],
        "/api/v1/beneficiaries/{reference}/certificate.pdf": ["get"],
        "/api/v1/dashboard": ["get"],
        "/api/v1/dashboard/{breakdown}.{extension}": ["get"],
    }
    book = paths["/api/v1/appointments"]["post"]
    assert {"201", "400", "401", "404", "422", "429"} <= set(book["responses"])
    assert book["security"] == [{"BearerToken": []}]
    receive = paths["/api/v1/stock/stores/{store_id}/receipts"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "422", "429"} <= set(receive["responses"])
    assert receive["summary"] and receive["description"]
    assert receive["security"] == [{"StaffSession": []}]


def test_it_serves_the_docs_page_offline(client: Client) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/" in page
    assert "cdn" not in page.lower()
