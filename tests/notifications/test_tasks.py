"""The Celery task: one attempt per run, retried with a pause only by a real worker."""

from typing import Any

import pytest
from celery.exceptions import Retry

from tests.notifications.conftest import PHONE, FakeTransport
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue
from vaxnet.notifications.tasks import RetryLater, send_message
from vaxnet.notifications.transports import TransportError

pytestmark = pytest.mark.django_db


def _message() -> Message:
    return message_enqueue(
        to=PHONE,
        language="en",
        template="booking_cancelled",
        context={"name": "Priya", "centre": "Hill Town PHC", "date": "14 Jun 2025"},
    )


def test_it_sends_the_message_in_process_without_a_broker(transport: FakeTransport) -> None:
    message = _message()

    result = send_message.delay(message.pk)

    assert result.get() == "sent"
    assert len(transport.sent) == 1


def test_it_tries_once_in_process_and_leaves_retries_for_later(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)
    message = _message()

    send_message.delay(message.pk)

    message.refresh_from_db()
    assert message.attempts == 1
    assert message.status == Message.Status.FAILED and message.retryable


def test_it_has_a_worker_retry_a_temporary_failure_after_a_pause(
    transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)
    message = _message()
    retries: list[dict[str, Any]] = []

    def retry(**options: Any) -> Retry:
        retries.append(options)
        return Retry(exc=options["exc"], when=options["countdown"])

    monkeypatch.setattr(send_message, "retry", retry)

    with pytest.raises(Retry):
        send_message.run(message.pk)  # as a worker runs it: not eagerly

    [options] = retries
    assert isinstance(options["exc"], RetryLater)
    assert 0 <= options["countdown"] <= 30


def test_it_does_not_retry_a_permanent_failure(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway answered 400", retryable=False)
    message = _message()

    assert send_message.run(message.pk) == "failed"


def test_it_ignores_a_message_that_is_gone(transport: FakeTransport) -> None:
    assert send_message.run(123456789) == "missing"
    assert transport.sent == []
