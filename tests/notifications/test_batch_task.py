"""The batch task: one attempt at each message, temporary failures handed on for a retry."""

from typing import Any

import pytest

from tests.notifications.conftest import PHONE, FakeTransport
from vaxnet.notifications import services
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue
from vaxnet.notifications.tasks import send_message, send_messages
from vaxnet.notifications.transports import TransportError

pytestmark = pytest.mark.django_db


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    scheduled: list[dict[str, Any]] = []

    def apply_async(args: tuple[int], **options: Any) -> None:
        scheduled.append({"args": args, **options})

    monkeypatch.setattr(send_message, "apply_async", apply_async)
    return scheduled


def _messages(count: int) -> list[Message]:
    return [
        message_enqueue(
            to=PHONE,
            language="en",
            template="booking_cancelled",
            context={"name": f"Priya {n}", "centre": "Hill Town PHC", "date": "14 Jun 2025"},
        )
        for n in range(count)
    ]


def test_it_sends_each_message_of_a_batch_once(
    transport: FakeTransport, retries: list[dict[str, Any]]
) -> None:
    messages = _messages(3)
    ids = [message.pk for message in messages]

    counts = send_messages.run(ids)
    send_messages.run([*ids, ids[0]])  # dispatched twice: sent once all the same

    assert counts["sent"] == 3
    assert sorted(transport.sent) == sorted(message.body for message in messages)
    for message in messages:
        message.refresh_from_db()
        assert message.status == Message.Status.SENT and message.attempts == 1
    assert retries == []


def test_it_counts_a_message_that_is_gone(transport: FakeTransport) -> None:
    [message] = _messages(1)

    counts = send_messages.run([message.pk, 123456789])

    assert counts["sent"] == 1 and counts["missing"] == 1


def test_it_hands_a_temporary_failure_to_the_single_task_after_a_pause(
    transport: FakeTransport, retries: list[dict[str, Any]]
) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)
    messages = _messages(2)

    counts = send_messages.run([message.pk for message in messages])

    assert counts["failed"] == 2
    assert [retry["args"] for retry in retries] == [(message.pk,) for message in messages]
    for retry in retries:
        assert 0 <= retry["countdown"] <= 30
        assert retry["retries"] == 1  # the single task's next pause and last attempt follow on
    for message in messages:
        message.refresh_from_db()
        assert message.attempts == 1
        assert message.status == Message.Status.FAILED and message.retryable


def test_it_does_not_retry_a_permanent_failure(
    transport: FakeTransport, retries: list[dict[str, Any]]
) -> None:
    transport.error = TransportError("gateway answered 400", retryable=False)
    [message] = _messages(1)

    assert send_messages.run([message.pk])["failed"] == 1
    assert retries == []


def test_it_leaves_retries_to_send_pending_in_process(
    transport: FakeTransport, retries: list[dict[str, Any]]
) -> None:
    transport.error = TransportError("gateway answered 503", retryable=True)
    [message] = _messages(1)

    send_messages.delay([message.pk])  # eager, as without a broker

    assert retries == []
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.retryable


def test_it_tries_the_others_when_one_message_breaks(
    transport: FakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, fine = _messages(2)
    real_send = services.message_send

    def message_send(*, message: Message) -> Message:
        if message.pk == broken.pk:
            raise RuntimeError("the database went away")
        return real_send(message=message)

    monkeypatch.setattr("vaxnet.notifications.tasks.message_send", message_send)

    counts = send_messages.run([broken.pk, fine.pk])

    assert counts["sent"] == 1
    assert transport.sent == [fine.body]
