"""The hottest public reads, routed first to their handlers: answered as the API answers them.

Each request is sent both ways, to the route that calls the handler directly and to the
API framework's own view for the path, and the two answers must be the same: status,
headers that matter, bytes. Each way starts from an empty cache (and the rate counters
with it), so that neither answers from what the other kept.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import URLPattern, resolve

from tests.api.factories import TOMORROW, cowin, plan
from vaxnet.api.cowin_v2 import _HOT_READS
from vaxnet.api.urls import _v2
from vaxnet.booking import availability
from vaxnet.facilities.models import Facility

pytestmark = pytest.mark.django_db

DAY = cowin(TOMORROW)
FRAMEWORK: dict[str, Callable[..., Any]] = {
    str(url.pattern): url.callback for url in _v2[0] if isinstance(url, URLPattern)
}
ASKED = [
    ("admin/location/states", {}),
    ("appointment/sessions/public/findByPin", {"pincode": "110001", "date": DAY}),
    ("appointment/sessions/public/findByPin", {"pincode": "11000", "date": DAY}),
    ("appointment/sessions/public/findByDistrict", {"district_id": "101", "date": DAY}),
    ("appointment/sessions/public/findByDistrict", {"district_id": "999", "date": DAY}),
    ("appointment/sessions/public/findByDistrict", {"district_id": "101", "date": "31-02-2026"}),
    ("appointment/sessions/public/findByDistrict", {"district_id": "", "date": DAY}),
    ("appointment/sessions/public/findByDistrict", {"district_id": "101"}),  # date missing
    ("appointment/sessions/public/calendarByPin", {"pincode": "110001", "date": DAY}),
    (
        "appointment/sessions/public/calendarByDistrict",
        {"district_id": "101", "date": DAY, "vaccine": "COVISHIELD"},
    ),
    (
        "appointment/sessions/public/calendarByDistrict",
        {"district_id": "101", "date": DAY, "vaccine": "COVAXIN"},  # none of those
    ),
    ("appointment/sessions/public/calendarByDistrict", {"district_id": "101", "date": DAY}),
    ("appointment/sessions/public/calendarByDistrict", {"date": DAY}),
    ("appointment/sessions/public/calendarByCenter", {"center_id": "x", "date": DAY}),
    ("appointment/centers/public/findByLatLong", {"lat": "28.6", "long": "77.2"}),
    ("appointment/centers/public/findByLatLong", {"lat": "north", "long": "77.2"}),
    ("appointment/centers/public/findByLatLong", {"lat": "28.6"}),
]


def _answer(view: Callable[..., Any], path: str, params: dict[str, str], **extra: Any) -> Any:
    cache.clear()
    availability.local_answers.clear()
    request = RequestFactory().get(f"/api/v2/{path}", params, **extra)
    response = view(request)
    return response.status_code, response.get("Content-Type"), response.content


@pytest.mark.parametrize(("path", "params"), ASKED)
@pytest.mark.parametrize("language", ["", "hi"])
def test_it_answers_as_the_api_does(
    hill_phc: Facility, path: str, params: dict[str, str], language: str
) -> None:
    plan(hill_phc)
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    hot = resolve(f"/api/v2/{path}").func

    direct = _answer(hot, path, params, **extra)
    framework = _answer(FRAMEWORK[path], path, params, **extra)

    assert hot is not FRAMEWORK[path]
    assert direct == framework
    assert direct[0] in (200, 400, 422)


def test_it_routes_every_hot_read_first() -> None:
    for route in _HOT_READS:
        match = resolve(f"/api/v2/{route}")
        assert match.func is not FRAMEWORK[route], route
        assert match.route == f"api/v2/{route}"


def test_another_method_is_refused_by_the_api_not_by_csrf(client: Client) -> None:
    checking = Client(enforce_csrf_checks=True)

    answers = [
        checking.post(f"/api/v2/{route}", {}).status_code
        for route in ("admin/location/states", "appointment/sessions/public/findByPin")
    ]

    assert answers == [405, 405]


def test_a_refusal_counts_against_the_rate_limit_as_the_apis_do(client: Client) -> None:
    path = "/api/v2/appointment/sessions/public/findByDistrict"
    answers = [client.get(path, {"district_id": "zz", "date": DAY}).status_code for _ in range(101)]

    assert answers[:100] == [400] * 100
    assert answers[100] == 429
