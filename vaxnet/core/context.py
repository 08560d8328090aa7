"""Where the current request comes from, carried without threading it through every call."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    """The client address and user agent of one request."""

    ip: str | None = None
    user_agent: str = ""


current: ContextVar[RequestInfo] = ContextVar("vaxnet_request", default=RequestInfo())
