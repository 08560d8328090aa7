"""What every transport offers: send one message, answer the provider's id or fail."""

from typing import Protocol

from vaxnet.notifications.models import Message


class TransportError(Exception):
    """A message was not sent; `retryable` says whether trying again later may help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Transport(Protocol):
    """Something that delivers a message: a gateway, a file, the console."""

    name: str

    def send(self, message: Message) -> str:
        """Send the message and return the provider's id for it, or raise TransportError."""
        ...
