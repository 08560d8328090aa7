"""`vaxnet send_pending`: operators send what is still waiting, from cron or by hand."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.notifications.conftest import PHONE, read_lines
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue

pytestmark = pytest.mark.django_db


def _message() -> Message:
    return message_enqueue(
        to=PHONE,
        language="en",
        template="booking_cancelled",
        context={"name": "Priya", "centre": "Hill Town PHC", "date": "14 Jun 2025"},
    )


def _run(*args: str) -> str:
    out = StringIO()
    call_command("send_pending", *args, stdout=out)
    return out.getvalue()


def test_it_sends_a_message_left_in_the_queue(sms_file: Path) -> None:
    message = _message()

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        output = _run()

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert [line["reference"] for line in read_lines(sms_file)] == [message.public_id]
    assert "1 sent" in output


def test_it_leaves_a_message_queued_just_now_to_its_own_task(sms_file: Path) -> None:
    message = _message()

    _run()

    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert read_lines(sms_file) == []


def test_it_retries_a_message_that_failed_for_now(sms_file: Path) -> None:
    message = _message()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.FAILED, retryable=True, attempts=1
    )

    _run()

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.attempts == 2


def test_it_does_not_retry_a_message_that_failed_for_good(sms_file: Path) -> None:
    message = _message()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.FAILED, retryable=False, attempts=1
    )

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        _run()

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert read_lines(sms_file) == []


def test_it_retries_a_message_whose_sender_vanished(sms_file: Path) -> None:
    message = _message()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, attempts=1, last_attempt_at=timezone.now()
    )

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        output = _run()

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert "1 interrupted" in output


def test_it_hands_messages_to_the_workers_when_asked(sms_file: Path) -> None:
    message = _message()

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        output = _run("--queue")

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert "1 messages handed to the workers" in output


def test_it_sends_at_most_the_limit(sms_file: Path) -> None:
    for _ in range(3):
        _message()

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        _run("--limit", "2")

    assert Message.objects.filter(status=Message.Status.SENT).count() == 2
