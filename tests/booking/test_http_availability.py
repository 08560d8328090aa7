"""The cached availability across real server processes: a booking shows at once everywhere.

Two gunicorn workers keep calendarByDistrict answers in their own memory and share Redis.
Each booking or cancellation, made through one of them, must show in the very next answer
of either (the change is published on commit, before the booking is acknowledged). The
test asks many times after each change, from many client addresses, so that both workers
answer with the copies they kept.
"""

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.booking.test_http_storm import Server, _helper, serving, storm_env

__all__ = ["storm_env"]  # the fixture, shared with the storm tests

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rpartition("/")[0]
ASKS = 30
CHANGES = 4


@pytest.fixture
def cached_env(storm_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The storm server's environment with Redis as the shared cache and broker."""
    import redis

    url = f"{REDIS_URL}/10"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} is unreachable (CI=true).")
        pytest.skip(f"Redis at {url} is unreachable.")
    yield {
        **storm_env,
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
        "VAXNET_CLIENT_IP_HEADER": "X-Real-IP",
    }
    redis.Redis.from_url(url).flushdb()


class Asker:
    """Asks for a district's calendar, each time from another client address."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.asked = 0
        self.day = f"{timezone.localdate() + timedelta(days=1):%d-%m-%Y}"
        self.district = self._district_of("Hill Town Primary Health Centre")

    def get(self, path: str) -> Any:
        self.asked += 1
        address = f"10.9.{self.asked >> 8 & 255}.{self.asked & 255}"
        status, body = self.server.request("GET", path, headers={"X-Real-IP": address})
        assert status == 200, body
        return body

    def _district_of(self, centre: str) -> int:
        for state in self.get("/api/v2/admin/location/states")["states"]:
            districts = self.get(f"/api/v2/admin/location/districts/{state['state_id']}")
            for district in districts["districts"]:
                if centre in {c["name"] for c in self._calendar(district["district_id"])}:
                    return int(district["district_id"])
        raise AssertionError(f"no district has {centre}")

    def _calendar(self, district: int) -> list[dict[str, Any]]:
        path = "/api/v2/appointment/sessions/public/calendarByDistrict"
        centres: list[dict[str, Any]] = self.get(f"{path}?district_id={district}&date={self.day}")[
            "centers"
        ]
        return centres

    def places(self, session: str) -> list[int]:
        """Ask ASKS times; return the places each answer shows for the session."""
        seen = []
        for _ in range(ASKS):
            found = [
                s["available_capacity"]
                for centre in self._calendar(self.district)
                for s in centre["sessions"]
                if s["session_id"] == session
            ]
            assert len(found) == 1
            seen.append(found[0])
        return seen


def test_every_worker_shows_a_booking_and_a_cancellation_at_once(
    cached_env: dict[str, str],
) -> None:
    made = _helper(
        cached_env,
        "setup",
        {
            "sessions": [{"capacity": 10, "slots": 1}],
            "accounts": 1,
            "members": 1,
            "phone_prefix": "+9197200",
            "seed": 200_000,
        },
    )
    (session,) = made["sessions"]
    (client,) = made["clients"]
    auth = {"Authorization": f"Bearer {client['token']}"}
    body = {"session": session["id"], "slot": "09:00", "beneficiaries": client["members"]}

    with serving(cached_env) as server:
        asker = Asker(server)
        before = asker.places(session["id"])
        after: list[tuple[list[int], list[int]]] = []
        for _ in range(CHANGES):
            status, booked = server.request("POST", "/api/v1/appointments", body, auth)
            assert status == 201, booked
            with_booking = asker.places(session["id"])
            (appointment,) = booked["appointments"]
            cancel = f"/api/v1/appointments/{appointment['id']}/cancel"
            status, cancelled = server.request("POST", cancel, {}, auth)
            assert status == 200, cancelled
            after.append((with_booking, asker.places(session["id"])))

    assert before == [10] * ASKS
    assert after == [([9] * ASKS, [10] * ASKS)] * CHANGES
