"""Who is asking and from where: the client's address behind a proxy, the audit context, and
how long a staff session lasts."""

import contextlib
import ipaddress
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from vaxnet.core import context

# Kept in a staff session, as seconds since the epoch: when it signed in, when it was last used.
STAFF_SIGNED_IN_AT = "vaxnet_staff_signed_in_at"
STAFF_SEEN_AT = "vaxnet_staff_seen_at"
# The last use is written at most this often: not a session write on every request.
SEEN_EVERY_SECONDS = 60


def client_address(request: HttpRequest) -> str:
    """Return the address limits are counted by (`ClientAddressMiddleware` sets it)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


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


def stamp_staff_session(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """Start a new staff session's clocks at sign-in (a receiver of user_logged_in)."""
    if request is None or not hasattr(request, "session"):
        return
    now = timezone.now().timestamp()
    request.session[STAFF_SIGNED_IN_AT] = now
    request.session[STAFF_SEEN_AT] = now


class StaffSessionExpiryMiddleware:
    """End a staff session after VAXNET_STAFF_IDLE_MINUTES idle or VAXNET_STAFF_SESSION_HOURS.

    Only sessions with a signed-in Django user are concerned; a citizen's sign-in (its own
    session key) is left alone. A session without a start, made some other way than the
    staff sign-in, starts its clock at its first request. An expired session is signed out:
    a page is sent to the staff sign-in with a message, the API answers as to anyone without
    a staff session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie there is no session to read: no query for anonymous reads.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and SESSION_KEY in request.session:
            expired = self._expired(request)
            if expired is not None:
                return expired
        return self.get_response(request)

    def _expired(self, request: HttpRequest) -> HttpResponse | None:
        session = request.session
        now = timezone.now().timestamp()
        signed_in_at = session.get(STAFF_SIGNED_IN_AT)
        seen_at = session.get(STAFF_SEEN_AT)
        if not isinstance(signed_in_at, int | float) or not isinstance(seen_at, int | float):
            session[STAFF_SIGNED_IN_AT] = (
                signed_in_at if isinstance(signed_in_at, int | float) else now
            )
            session[STAFF_SEEN_AT] = now
            return None
        idle = now - seen_at > settings.VAXNET_STAFF_IDLE_MINUTES * 60
        too_old = now - signed_in_at > settings.VAXNET_STAFF_SESSION_HOURS * 3600
        if not idle and not too_old:
            if now - seen_at >= SEEN_EVERY_SECONDS:
                session[STAFF_SEEN_AT] = now
            return None
        logout(request)
        if request.path_info.startswith("/api/"):
            return None  # the API answers 401 to a request without a staff session
        if too_old:
            messages.warning(request, _("Your session has ended. Please sign in again."))
        else:
            messages.warning(
                request,
                _("You were signed out after a while without activity. Please sign in again."),
            )
        target = reverse("staff:sign_in")
        if request.method in ("GET", "HEAD"):
            target += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request") == "true":  # before HtmxMiddleware has run
            return HttpResponseClientRedirect(target)
        return HttpResponseRedirect(target)
