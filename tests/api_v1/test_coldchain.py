"""POST /api/v1/stock/devices/readings: data loggers send temperatures with their key."""

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from tests.api.factories import NOW
from tests.api_v1.helpers import error_code
from vaxnet.api import v1_coldchain
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.coldchain import equipment_add, equipment_rotate_key
from vaxnet.stock.models import Equipment, Excursion, Store, TemperatureReading

pytestmark = pytest.mark.django_db

PATH = "/api/v1/stock/devices/readings"


@pytest.fixture
def store(hill_phc: Facility) -> Store:
    store = Store(name="Hill Town PHC store", level="facility", region=hill_phc.region)
    store.facility = hill_phc
    store.save()
    return store


@pytest.fixture
def logger(store: Store, store_keeper: User) -> tuple[Equipment, str]:
    return equipment_add(store=store, kind="ilr", label="ILR 1", by=store_keeper)


def stamp(minutes: int) -> str:
    """Return the moment some minutes before the test's clock, as ISO 8601 with its offset."""
    return (NOW - timedelta(minutes=minutes)).isoformat()


def send(
    client: Client,
    key: str,
    readings: Any,
    *,
    scheme: str = "Device",
    raw: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps({"readings": readings})
    return client.post(
        PATH,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"{scheme} {key}", **(headers or {})},
    )


def test_it_keeps_a_batch_and_skips_it_when_sent_again(
    client: Client, logger: tuple[Equipment, str]
) -> None:
    equipment, key = logger
    readings = [{"at": stamp(30), "celsius": 4.5}, {"at": stamp(20), "celsius": 5}]

    first = send(client, key, readings)
    again = send(client, key, readings)

    assert first.status_code == 200, first.json()
    assert first.json() == {"accepted": 2, "duplicates": 0, "excursions": []}
    assert again.json() == {"accepted": 0, "duplicates": 2, "excursions": []}
    assert TemperatureReading.objects.filter(equipment=equipment).count() == 2


def test_it_answers_the_excursions_still_open(
    client: Client, logger: tuple[Equipment, str]
) -> None:
    _equipment, key = logger

    answer = send(client, key, [{"at": stamp(50), "celsius": 4}, {"at": stamp(40), "celsius": -1}])

    excursion = Excursion.objects.get()
    assert answer.status_code == 200
    (shown,) = answer.json()["excursions"]
    assert datetime.fromisoformat(shown.pop("started_at")) == NOW - timedelta(minutes=40)
    assert shown == {
        "id": excursion.public_id,
        "kind": "freeze",
        "ended_at": None,
        "lowest": -1.0,
        "highest": -1.0,
    }


@pytest.mark.parametrize(
    ("key", "scheme"),
    [("wrong", "Device"), ("", "Device"), ("right", "Bearer"), ("right", "")],
)
def test_it_refuses_a_missing_or_wrong_key(
    client: Client, logger: tuple[Equipment, str], key: str, scheme: str
) -> None:
    _equipment, right = logger
    sent = right if key == "right" else key

    answer = send(client, sent, [{"at": stamp(5), "celsius": 5}], scheme=scheme)

    assert answer.status_code == 401
    assert error_code(answer) == "unauthorized"
    assert answer["WWW-Authenticate"] == "Device"
    assert not TemperatureReading.objects.exists()


def test_it_refuses_an_old_key_and_equipment_out_of_use(
    client: Client, logger: tuple[Equipment, str], store_keeper: User
) -> None:
    equipment, old = logger
    new = equipment_rotate_key(equipment=equipment, by=store_keeper)

    assert send(client, old, [{"at": stamp(5), "celsius": 5}]).status_code == 401
    assert send(client, new, [{"at": stamp(5), "celsius": 5}]).status_code == 200
    Equipment.objects.filter(pk=equipment.pk).update(active=False)
    assert send(client, new, [{"at": stamp(4), "celsius": 5}]).status_code == 401


@pytest.mark.parametrize(
    ("readings", "code", "field"),
    [
        ([{"at": "2026-03-02T08:00:00", "celsius": 5}], "reading_time_naive", "readings.0.at"),
        ([{"at": stamp(-10), "celsius": 5}], "reading_in_future", "readings.0.at"),
        (
            [{"at": stamp(5), "celsius": 5}, {"at": stamp(4), "celsius": 61}],
            "reading_out_of_bounds",
            "readings.1.celsius",
        ),
        ([{"at": stamp(5), "celsius": -273}], "reading_out_of_bounds", "readings.0.celsius"),
        ([{"at": stamp(5), "celsius": "hot"}], "invalid_input", "payload.readings.0.celsius"),
        ([{"at": "yesterday", "celsius": 5}], "invalid_input", "payload.readings.0.at"),
        ([{"at": stamp(5)}], "invalid_input", "payload.readings.0.celsius"),
        ([], "invalid_input", "payload.readings"),
        ([{"at": stamp(5), "celsius": 5}] * 1001, "invalid_input", "payload.readings"),
        ("many", "invalid_input", "payload.readings"),
    ],
)
def test_it_refuses_readings_that_are_not_valid_with_a_code(
    client: Client, logger: tuple[Equipment, str], readings: Any, code: str, field: str
) -> None:
    _equipment, key = logger

    answer = send(client, key, readings)

    assert answer.status_code == 422, answer.content
    assert error_code(answer) == code
    assert answer.json()["error"]["field"] == field
    assert not TemperatureReading.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"readings": [{"at": "2026-03-02T08:00:00+05:30", "celsius": NaN}]}',
        '{"readings": [{"at": "2026-03-02T08:00:00+05:30", "celsius": 1e400}]}',
        '{"readings": [{"at": "2026-03-02T08:00:00+05:30", "celsius": 5, "at": null}]}',
        '{"readings": [{"at": 99999999999999999999, "celsius": 5}]}',
        '{"readings": [{"at": "2026-03-02T08:00:00+05:30\\u0000", "celsius": 5}]}',
        "[]",
    ],
)
def test_it_never_fails_on_a_strange_body(
    client: Client, logger: tuple[Equipment, str], raw: str
) -> None:
    _equipment, key = logger

    answer = send(client, key, None, raw=raw)

    assert answer.status_code == 422, answer.content
    assert error_code(answer) == "invalid_input"


def test_it_limits_each_device(
    client: Client,
    logger: tuple[Equipment, str],
    store: Store,
    store_keeper: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(v1_coldchain, "READINGS_PER_DEVICE", (2, 3600))
    _equipment, key = logger
    _other, other_key = equipment_add(store=store, kind="cold_box", label="Box", by=store_keeper)

    answers = [send(client, key, [{"at": stamp(m), "celsius": 5}]) for m in (3, 2, 1)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert error_code(answers[2]) == "rate_limited"
    assert int(answers[2]["Retry-After"]) > 0
    assert send(client, other_key, [{"at": stamp(1), "celsius": 5}]).status_code == 200


def test_it_replays_the_first_answer_for_an_idempotency_key(
    client: Client, logger: tuple[Equipment, str]
) -> None:
    _equipment, key = logger
    readings = [{"at": stamp(5), "celsius": 5}]

    first = send(client, key, readings, headers={"Idempotency-Key": "batch-1"})
    replay = send(client, key, readings, headers={"Idempotency-Key": "batch-1"})

    assert first.json() == replay.json() == {"accepted": 1, "duplicates": 0, "excursions": []}


def test_it_is_in_the_openapi_document(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()

    operation = document["paths"][PATH]["post"]
    assert operation["security"] == [{"DeviceKey": []}]
    assert {"200", "401", "422", "429"} <= set(operation["responses"])
    scheme = document["components"]["securitySchemes"]["DeviceKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
