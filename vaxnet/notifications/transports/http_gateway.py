"""Production transport: an SMS gateway reached over HTTP with a bearer token.

The gateway receives `POST <url>` with a JSON body `{"to", "text", "unicode", "reference"}`
(`reference` is the message's public id, for delivery reports) and answers 2xx with a JSON
object naming its own id for the message (`id` or `message_id`).
"""

import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from vaxnet.notifications.gsm import is_gsm7
from vaxnet.notifications.models import Message
from vaxnet.notifications.transports.base import TransportError

# Statuses that say "not now" rather than "never": the same request may succeed later.
_RETRYABLE_CLIENT_ERRORS = {408, 425, 429}


class HttpGatewayTransport:
    """Send messages through an HTTP SMS gateway, sorting its failures into final or temporary."""

    name = "http"

    def __init__(self, *, url: str, token: str, timeout: float = 10.0) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"The SMS gateway URL must be http or https, not {url!r}.")
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, message: Message) -> str:
        """Post the message to the gateway and return the gateway's id for it."""
        payload = {
            "to": message.recipient,
            "text": message.body,
            "unicode": not is_gsm7(message.body),
            "reference": message.public_id,
        }
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            detail = _excerpt(exc.read(2048))
            retryable = exc.code >= 500 or exc.code in _RETRYABLE_CLIENT_ERRORS
            raise TransportError(
                f"gateway answered {exc.code}: {detail}", retryable=retryable
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # Refused, reset, timed out, a garbled answer: the network, not the message.
            reason = getattr(exc, "reason", None) or repr(exc)
            raise TransportError(f"gateway unreachable: {reason}", retryable=True) from exc
        # The gateway took the message: even without a readable id it must not be sent twice.
        return _provider_id(answer)


def _provider_id(answer: bytes) -> str:
    try:
        data = json.loads(answer)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    value = data.get("id", data.get("message_id", ""))
    return str(value)[:100] if isinstance(value, str | int) else ""


def _excerpt(body: bytes) -> str:
    return body.decode("utf-8", errors="replace").strip().replace("\n", " ")[:200]
