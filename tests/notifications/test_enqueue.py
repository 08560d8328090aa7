"""Queuing a message: checked, rendered at once, sent only if the caller's transaction commits."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from tests.notifications.conftest import PHONE, read_lines
from vaxnet.core.errors import DomainError
from vaxnet.notifications.kinds import MASK
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue

pytestmark = pytest.mark.django_db

BOOKING = {
    "name": "Priya",
    "centre": "Hill Town PHC",
    "date": "14 Jun 2025",
    "slot": "09:00-11:00",
    "code": "4821",
}


class Rollback(Exception):
    pass


def test_it_stores_the_message_rendered_in_the_recipients_language(sms_file: Path) -> None:
    message = message_enqueue(
        to=PHONE, language="hi", template="booking_confirmed", context=BOOKING
    )

    assert message.status == Message.Status.QUEUED
    assert message.language == "hi"
    assert "Hill Town PHC" in message.body and "4821" in message.body
    assert message.context == BOOKING
    assert len(message.public_id) == 12 and not message.public_id.isdigit()


def test_it_sends_nothing_for_a_transaction_that_rolls_back(
    sms_file: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        message_enqueue(to=PHONE, language="en", template="otp", context={"code": "493817"})
        raise Rollback

    assert callbacks == []
    assert not Message.objects.exists()
    assert read_lines(sms_file) == []


def test_it_sends_once_the_transaction_commits(
    sms_file: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = message_enqueue(
            to=PHONE, language="en", template="booking_confirmed", context=BOOKING
        )
        assert read_lines(sms_file) == []

    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.attempts == 1
    assert message.transport == "file"
    [line] = read_lines(sms_file)
    assert line["to"] == PHONE and line["reference"] == message.public_id


def test_it_queues_a_repeated_dedupe_key_once(
    sms_file: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = message_enqueue(
            to=PHONE, language="en", template="booking_confirmed", context=BOOKING, dedupe_key="b1"
        )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = message_enqueue(
            to=PHONE, language="en", template="booking_confirmed", context=BOOKING, dedupe_key="b1"
        )

    assert again.pk == first.pk
    assert callbacks == []
    assert Message.objects.count() == 1
    assert len(read_lines(sms_file)) == 1


def test_it_lets_the_database_refuse_a_second_message_with_one_key() -> None:
    fields = {"recipient": PHONE, "language": "en", "template": "otp", "body": "x"}
    Message.objects.create(**fields, dedupe_key="b1")

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(**fields, dedupe_key="b1")


def test_it_queues_messages_without_a_dedupe_key_every_time() -> None:
    for _ in range(2):
        message_enqueue(to=PHONE, language="en", template="otp", context={"code": "493817"})

    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"template": "birthday"}, "notification_template"),
        ({"language": "sw"}, "notification_language"),
        ({"language": "fr"}, "notification_language"),
        ({"to": "9876543210"}, "notification_recipient"),
        ({"to": "+91 98765 43210"}, "notification_recipient"),
        ({"to": PHONE + "\n"}, "notification_recipient"),
        ({"context": {}}, "notification_context"),
        ({"context": {"code": "493817", "name": "Priya"}}, "notification_context"),
        ({"context": {"code": ["4", "9"]}}, "notification_context"),
        ({"context": {"code": "493817", "minutes": 0}}, "notification_context"),
        ({"dedupe_key": ""}, "notification_dedupe_key"),
        ({"dedupe_key": "x" * 201}, "notification_dedupe_key"),
    ],
)
def test_it_refuses_a_message_it_cannot_send(fields: dict[str, object], code: str) -> None:
    arguments: dict[str, object] = {
        "to": PHONE,
        "language": "en",
        "template": "otp",
        "context": {"code": "493817"},
        **fields,
    }

    with pytest.raises(DomainError) as refused:
        message_enqueue(**arguments)  # type: ignore[arg-type]

    assert refused.value.code == code
    assert str(refused.value.message)
    assert not Message.objects.exists()


def test_it_keeps_the_otp_code_out_of_the_stored_context() -> None:
    message = message_enqueue(to=PHONE, language="en", template="otp", context={"code": "493817"})

    assert message.context == {"code": MASK, "minutes": 3}
    assert "493817" in message.body


def test_it_lets_an_otp_expire_with_its_code() -> None:
    before = timezone.now()

    message = message_enqueue(to=PHONE, language="en", template="otp", context={"code": "493817"})

    assert message.expires_at is not None
    assert (
        before + timedelta(minutes=3) <= message.expires_at <= timezone.now() + timedelta(minutes=3)
    )


def test_it_keeps_other_messages_without_an_expiry() -> None:
    message = message_enqueue(
        to=PHONE, language="en", template="booking_confirmed", context=BOOKING
    )

    assert message.expires_at is None
