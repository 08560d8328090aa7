"""Who is asking and from where: the client's address behind a proxy, and the audit context."""

import contextlib
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from vaxnet.core import context


class ClientAddressMiddleware:
    """Take the client's address from the header the deployment's proxies set.

    Rate limits and the audit log count by REMOTE_ADDR; behind a load balancer that is the
    balancer's address, shared by every citizen. With CLIENT_IP_HEADER set (for example
    X-Forwarded-For), the address is the entry that the nearest of TRUSTED_PROXIES proxies
    added: the one that many places from the right, which a client cannot forge. A missing
    or malformed header leaves REMOTE_ADDR as it is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.CLIENT_IP_HEADER:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.meta_key = "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_")
        self.proxies = settings.TRUSTED_PROXIES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        entries = [e.strip() for e in request.META.get(self.meta_key, "").split(",")]
        if len(entries) >= self.proxies:
            candidate = entries[-self.proxies]
            with contextlib.suppress(ValueError):
                request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(candidate))
        return self.get_response(request)


class RequestContextMiddleware:
    """Remember the client address and user of the current request for audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = context.current.set(
            context.RequestInfo(
                ip=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.current.reset(token)
