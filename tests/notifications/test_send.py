"""Sending a message: one attempt through the transport, its outcome on record."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.notifications.conftest import PHONE, FakeTransport
from vaxnet.notifications.kinds import MASK
from vaxnet.notifications.models import MAX_ATTEMPTS, Message
from vaxnet.notifications.services import message_enqueue, message_release_stale, message_send
from vaxnet.notifications.transports import TransportError

pytestmark = pytest.mark.django_db


def _otp() -> Message:
    return message_enqueue(to=PHONE, language="en", template="otp", context={"code": "493817"})


def _cancelled() -> Message:
    return message_enqueue(
        to=PHONE,
        language="en",
        template="booking_cancelled",
        context={"name": "Priya", "centre": "Hill Town PHC", "date": "14 Jun 2025"},
    )


def test_it_marks_a_sent_message_with_the_providers_id(transport: FakeTransport) -> None:
    message = message_send(message=_cancelled())

    assert message.status == Message.Status.SENT
    assert message.provider_id == "fake-1"
    assert message.transport == "fake"
    assert message.attempts == 1
    assert message.sent_at is not None
    assert transport.sent == [message.body]


def test_it_leaves_a_sent_message_alone(transport: FakeTransport) -> None:
    message = message_send(message=_cancelled())

    again = message_send(message=message)

    assert again.attempts == 1
    assert len(transport.sent) == 1


def test_it_keeps_a_temporary_failure_for_a_retry(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)

    message = message_send(message=_cancelled())

    assert message.status == Message.Status.FAILED
    assert message.retryable
    assert message.last_error == "gateway answered 503"
    assert message.attempts == 1


def test_it_sends_a_message_that_failed_for_now(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)
    message = message_send(message=_cancelled())
    transport.error = None

    message = message_send(message=message)

    assert message.status == Message.Status.SENT
    assert message.attempts == 2
    assert message.last_error == ""


def test_it_gives_up_on_a_permanent_failure(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway answered 400: bad number", retryable=False)
    message = message_send(message=_cancelled())
    transport.error = None

    message = message_send(message=message)

    assert message.status == Message.Status.FAILED
    assert not message.retryable
    assert message.attempts == 1
    assert transport.sent == []


def test_it_gives_up_after_the_last_attempt(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway unreachable", retryable=True)
    message = _cancelled()

    for _ in range(MAX_ATTEMPTS + 2):
        message = message_send(message=message)

    assert message.attempts == MAX_ATTEMPTS
    assert message.status == Message.Status.FAILED
    assert not message.retryable


def test_it_records_a_broken_transport_as_a_temporary_failure(transport: FakeTransport) -> None:
    transport.error = ValueError("a bug")

    message = message_send(message=_cancelled())

    assert message.status == Message.Status.FAILED
    assert message.retryable
    assert "a bug" in message.last_error


def test_it_masks_the_otp_code_once_the_message_is_sent(transport: FakeTransport) -> None:
    message = message_send(message=_otp())

    assert "493817" in transport.sent[0]
    assert "493817" not in message.body
    assert MASK in message.body


def test_it_keeps_the_otp_code_while_a_retry_may_still_send_it(transport: FakeTransport) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)

    message = message_send(message=_otp())

    assert "493817" in message.body


def test_it_does_not_send_an_otp_after_it_expired(transport: FakeTransport) -> None:
    message = _otp()

    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        message = message_send(message=message)

    assert message.status == Message.Status.FAILED
    assert not message.retryable
    assert message.last_error.startswith("expired")
    assert "493817" not in message.body
    assert transport.sent == []


def test_it_gives_back_a_message_whose_sender_vanished(transport: FakeTransport) -> None:
    message = _cancelled()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, attempts=1, last_attempt_at=timezone.now()
    )

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        released = message_release_stale(older_than=timedelta(minutes=15))
        message = message_send(message=message)

    assert released == 1
    assert message.status == Message.Status.SENT
    assert message.attempts == 2


def test_it_leaves_a_message_being_sent_right_now_alone(transport: FakeTransport) -> None:
    message = _cancelled()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, attempts=1, last_attempt_at=timezone.now()
    )

    released = message_release_stale(older_than=timedelta(minutes=15))
    message = message_send(message=message)

    assert released == 0
    assert message.status == Message.Status.SENDING
    assert transport.sent == []
