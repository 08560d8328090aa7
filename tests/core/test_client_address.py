"""Behind proxies, rate limits and the audit log count the client, not the proxy."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from vaxnet.core.middleware import ClientAddressMiddleware


def _seen(header: str, value: str | None, proxies: int = 1) -> str:
    """Return the REMOTE_ADDR a view sees after the middleware, the proxy being 10.0.0.9."""
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.META["REMOTE_ADDR"])
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9")
    if value is not None:
        request.META["HTTP_" + header.upper().replace("-", "_")] = value
    with override_settings(CLIENT_IP_HEADER=header, TRUSTED_PROXIES=proxies):
        ClientAddressMiddleware(view)(request)
    return seen[0]


def test_it_takes_the_address_our_proxy_added() -> None:
    assert _seen("X-Real-IP", "203.0.113.7") == "203.0.113.7"
    assert _seen("X-Forwarded-For", "198.51.100.1, 203.0.113.7") == "203.0.113.7"


def test_it_ignores_what_the_client_wrote_before_our_proxies() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the balancer and then nginx appended.
    header = "1.2.3.4, 203.0.113.7, 10.0.0.5"

    assert _seen("X-Forwarded-For", header, proxies=2) == "203.0.113.7"


@pytest.mark.parametrize("value", [None, "", "not-an-address", "203.0.113.7 extra"])
def test_it_keeps_the_connection_address_when_the_header_is_missing_or_malformed(
    value: str | None,
) -> None:
    assert _seen("X-Forwarded-For", value) == "10.0.0.9"


def test_it_keeps_the_connection_address_when_fewer_proxies_wrote_than_we_run() -> None:
    assert _seen("X-Forwarded-For", "203.0.113.7", proxies=2) == "10.0.0.9"


def test_it_normalises_ipv6() -> None:
    assert _seen("X-Real-IP", "2001:DB8::0001") == "2001:db8::1"


def test_it_stays_out_of_the_way_without_a_header_setting() -> None:
    from django.core.exceptions import MiddlewareNotUsed

    with override_settings(CLIENT_IP_HEADER=""), pytest.raises(MiddlewareNotUsed):
        ClientAddressMiddleware(lambda request: HttpResponse())
