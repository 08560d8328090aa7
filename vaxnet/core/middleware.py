"""Request context (who and from where) for the audit log."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from vaxnet.core import context


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
