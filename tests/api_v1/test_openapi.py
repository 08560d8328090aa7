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
    }
    book = paths["/api/v1/appointments"]["post"]
    assert {"201", "400", "401", "404", "422", "429"} <= set(book["responses"])
    assert book["security"] == [{"BearerToken": []}]


def test_it_serves_the_docs_page_offline(client: Client) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/" in page
    assert "cdn" not in page.lower()
