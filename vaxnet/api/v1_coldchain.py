"""v1 API: cold chain (`/api/v1/stock/...`): data loggers send the temperatures they read.

A logger authenticates with its equipment's key, "Authorization: Device <key>", handed out
once when the equipment is added or its key is rotated (vaxnet.stock.coldchain). Handlers
are as thin as in vaxnet.api.v1, whose error shape, rate limits, Idempotency-Key handling
and exception handlers cover this router too; a wrong key is 401 in the same shape.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.security import APIKeyHeader
from pydantic import Field

from vaxnet.api.v1_auth import speak
from vaxnet.api.v1_idempotency import Answer, idempotent
from vaxnet.core.errors import DomainError
from vaxnet.stock.coldchain import MAX_READINGS, equipment_for_device_key, readings_ingest
from vaxnet.stock.models import Equipment, Excursion

# Made before vaxnet.api.v1 is imported: its last lines mount this router by name, so that
# importing this module first (a test does) finds the router already there.
router = Router()

from vaxnet.api.v1 import ERRORS, _rate, _refuse, v1_api  # noqa: E402

# Rate limit (hits, window in seconds) per device: a logger sends a batch every few
# minutes, and after a time offline catches up in batches of MAX_READINGS.
READINGS_PER_DEVICE = (120, 3600)


class DeviceKeyRefused(DomainError):
    """A data logger's key is missing, wrong, or its equipment is out of use (HTTP 401)."""

    def __init__(self) -> None:
        super().__init__(
            "unauthorized",
            _("The data logger key is missing or not valid: check the device's settings."),
            status=401,
        )


@v1_api.exception_handler(DeviceKeyRefused)
def _device_refused(request: HttpRequest, exc: DeviceKeyRefused) -> HttpResponse:
    response = _refuse(request, exc)
    response["WWW-Authenticate"] = "Device"
    return response


class DeviceKey(APIKeyHeader):
    """Authenticate a data logger with "Authorization: Device <key>"."""

    param_name = "Authorization"
    openapi_description = "A data logger's key, sent as `Authorization: Device <key>`."

    def authenticate(self, request: HttpRequest, key: str | None) -> Equipment:
        speak(request)
        scheme, _sep, text = (key or "").strip().partition(" ")
        equipment = equipment_for_device_key(text) if scheme.lower() == "device" else None
        if equipment is None:
            raise DeviceKeyRefused()
        return equipment


device_key = DeviceKey()


# Schemas


class ReadingIn(Schema):
    at: datetime = Field(description="when it was read, ISO 8601 with its UTC offset")
    celsius: float = Field(allow_inf_nan=False, description="the temperature read, in °C")


class ReadingsIn(Schema):
    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_READINGS)


class ExcursionOut(Schema):
    id: str
    kind: str = Field(description="heat (above 8 °C), cold (below 2 °C) or freeze")
    started_at: datetime
    ended_at: datetime | None
    lowest: float = Field(description="the lowest temperature read during it, in °C")
    highest: float = Field(description="the highest temperature read during it, in °C")


class ReadingsOut(Schema):
    accepted: int = Field(description="readings kept")
    duplicates: int = Field(description="readings already on record, skipped")
    excursions: list[ExcursionOut] = Field(description="the equipment's excursions still open")


def _excursion_out(excursion: Excursion) -> dict[str, Any]:
    return ExcursionOut(
        id=excursion.public_id,
        kind=excursion.kind,
        started_at=excursion.started_at,
        ended_at=excursion.ended_at,
        lowest=float(excursion.lowest),
        highest=float(excursion.highest),
    ).model_dump(mode="json")


@router.post(
    "/stock/devices/readings",
    response={200: ReadingsOut, **ERRORS},
    auth=device_key,
    summary="Send a data logger's temperature readings",
    tags=["Cold chain"],
)
def device_readings(request: HttpRequest, payload: ReadingsIn) -> HttpResponse:
    """Keep a batch of readings of the logger's equipment; those already kept are skipped.

    Sending a batch again adds nothing. One reading that is not valid refuses the batch
    (422, its field named). Answers the equipment's excursions still open: above 8 °C or
    below 2 °C for longer than the country allows, or any reading at or below -0.5 °C.
    """
    equipment: Equipment = request.auth  # type: ignore[attr-defined]
    _rate(f"coldchain:device:{equipment.pk}", READINGS_PER_DEVICE)

    def work() -> Answer:
        result = readings_ingest(
            equipment=equipment,
            readings=[(reading.at, reading.celsius) for reading in payload.readings],
        )
        return 200, {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "excursions": [_excursion_out(excursion) for excursion in result.open],
        }

    return idempotent(request, scope=f"equipment:{equipment.pk}", work=work)
