"""Where the current request comes from, carried without threading it through every call."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    """The client address and user agent of one request."""

    ip: str | None = None
    user_agent: str = ""


current: ContextVar[RequestInfo | None] = ContextVar("vaxnet_request", default=None)


def request_info() -> RequestInfo:
    """Return where the current request comes from (empty outside a request)."""
    return current.get() or RequestInfo()
