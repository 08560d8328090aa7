"""The HTTP gateway transport against a real HTTP server on this machine."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from tests.notifications.conftest import PHONE
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_send
from vaxnet.notifications.transports import TransportError, get_transport
from vaxnet.notifications.transports.http_gateway import HttpGatewayTransport


@dataclass
class Gateway:
    """A local stand-in for an SMS gateway: answers as told and remembers what it was asked."""

    url: str = ""
    status: int = 200
    answer: bytes = b'{"id": "gw-42"}'
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(state.answer)))
                self.end_headers()
                self.wfile.write(state.answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the timeout test's client has already given up, as intended

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _message(body: str = "Booked: Priya at Hill Town PHC.") -> Message:
    return Message(recipient=PHONE, language="en", template="booking_confirmed", body=body)


def _transport(gateway: Gateway, timeout: float = 5.0) -> HttpGatewayTransport:
    return HttpGatewayTransport(url=gateway.url, token="s3cret", timeout=timeout)


def test_it_posts_the_message_and_returns_the_gateways_id(gateway: Gateway) -> None:
    message = _message()

    provider_id = _transport(gateway).send(message)

    assert provider_id == "gw-42"
    [request] = gateway.requests
    assert request["path"] == "/sms"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["json"] == {
        "to": PHONE,
        "text": "Booked: Priya at Hill Town PHC.",
        "unicode": False,
        "reference": message.public_id,
    }


def test_it_asks_for_unicode_for_a_hindi_text(gateway: Gateway) -> None:
    _transport(gateway).send(_message("आपका कोड 493817 है"))

    assert gateway.requests[0]["json"]["unicode"] is True
    assert gateway.requests[0]["json"]["text"] == "आपका कोड 493817 है"


def test_it_counts_a_message_the_gateway_took_without_an_id_as_sent(gateway: Gateway) -> None:
    gateway.answer = b"OK"

    assert _transport(gateway).send(_message()) == ""


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_it_gives_up_when_the_gateway_refuses_the_message(gateway: Gateway, status: int) -> None:
    gateway.status = status
    gateway.answer = b'{"error": "invalid number"}'

    with pytest.raises(TransportError) as failed:
        _transport(gateway).send(_message())

    assert not failed.value.retryable
    assert str(status) in failed.value.reason
    assert "invalid number" in failed.value.reason


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_it_retries_when_the_gateway_fails_for_now(gateway: Gateway, status: int) -> None:
    gateway.status = status

    with pytest.raises(TransportError) as failed:
        _transport(gateway).send(_message())

    assert failed.value.retryable


def test_it_retries_when_the_gateway_is_too_slow(gateway: Gateway) -> None:
    gateway.delay = 1.0
    started = time.monotonic()

    with pytest.raises(TransportError) as failed:
        _transport(gateway, timeout=0.2).send(_message())

    assert failed.value.retryable
    assert time.monotonic() - started < 0.9


def test_it_retries_when_the_gateway_is_down() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = HttpGatewayTransport(url=f"http://127.0.0.1:{port}/sms", token="t")

    with pytest.raises(TransportError) as failed:
        transport.send(_message())

    assert failed.value.retryable


def test_it_refuses_a_gateway_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="http or https"):
        HttpGatewayTransport(url="file:///etc/passwd", token="t")


@pytest.mark.django_db
def test_it_sends_through_the_gateway_the_settings_name(
    gateway: Gateway, settings: Settings
) -> None:
    settings.SMS_TRANSPORT = "http"
    settings.SMS_GATEWAY_URL = gateway.url
    settings.SMS_GATEWAY_TOKEN = "from-settings"
    message = Message.objects.create(
        recipient=PHONE, language="en", template="booking_confirmed", body="Booked."
    )

    message = message_send(message=message)

    assert isinstance(get_transport(), HttpGatewayTransport)
    assert message.status == Message.Status.SENT
    assert message.provider_id == "gw-42"
    assert message.transport == "http"
    assert gateway.requests[0]["headers"]["Authorization"] == "Bearer from-settings"


@pytest.mark.django_db
def test_it_records_a_refusal_by_the_gateway_as_final(gateway: Gateway, settings: Settings) -> None:
    settings.SMS_TRANSPORT = "http"
    settings.SMS_GATEWAY_URL = gateway.url
    gateway.status = 400
    gateway.answer = b'{"error": "invalid number"}'
    message = Message.objects.create(
        recipient=PHONE, language="en", template="booking_confirmed", body="Booked."
    )

    message = message_send(message=message)

    assert message.status == Message.Status.FAILED
    assert not message.retryable
    assert "invalid number" in message.last_error
