"""The transports that deliver messages, one module each, and the choice between them."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from vaxnet.notifications.transports.base import Transport, TransportError

__all__ = ["Transport", "TransportError", "get_transport"]

# Seconds to wait for the gateway; a slow gateway must not hold a worker (or, with no
# broker, a web request) for long, and a timed-out message is tried again later.
GATEWAY_TIMEOUT = 10.0


def get_transport() -> Transport:
    """Return the SMS transport the settings choose (SMS_TRANSPORT: console, file or http)."""
    # Imported here so that each adapter's own imports load only when it is chosen.
    choice = settings.SMS_TRANSPORT
    if choice == "console":
        from vaxnet.notifications.transports.console import ConsoleTransport

        return ConsoleTransport()
    if choice == "file":
        from vaxnet.notifications.transports.file import FileTransport

        return FileTransport(settings.SMS_FILE)
    if choice == "http":
        from vaxnet.notifications.transports.http_gateway import HttpGatewayTransport

        return HttpGatewayTransport(
            url=settings.SMS_GATEWAY_URL,
            token=settings.SMS_GATEWAY_TOKEN,
            timeout=getattr(settings, "SMS_GATEWAY_TIMEOUT", GATEWAY_TIMEOUT),
        )
    raise ImproperlyConfigured(f"SMS_TRANSPORT={choice!r}: use console, file or http.")
