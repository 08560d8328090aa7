"""After the commit: sent in-process without a broker, one task per batch with one."""

import base64
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from kombu import pools
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from tests.notifications.conftest import PHONE, read_lines
from vaxnet.celery import app as celery_app
from vaxnet.notifications import services
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue

pytestmark = pytest.mark.django_db

TEST_BROKER = "redis://127.0.0.1:6379/11"
DEAD_BROKER = "redis://127.0.0.1:1/0"


def _message(n: int = 0) -> Message:
    return message_enqueue(
        to=PHONE,
        language="en",
        template="booking_cancelled",
        context={"name": f"Priya {n}", "centre": "Hill Town PHC", "date": "14 Jun 2025"},
    )


def _forget_broker_connections() -> None:
    pools.reset()  # closes them, and forgets them for new ones to the broker now named
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def _use_broker(url: str) -> Iterator[None]:
    before, eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    _forget_broker_connections()
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = url
    try:
        yield
    finally:
        services._outgoing.close(timeout=10)  # what was queued goes before the switch back
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = before, eager
        _forget_broker_connections()


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """A real Redis broker, in a database of its own, emptied before and after."""
    client = redis.Redis.from_url(TEST_BROKER)
    try:
        client.ping()
    except redis.RedisError:  # pragma: no cover - the test machines have Redis
        pytest.skip(f"no Redis at {TEST_BROKER}")
    client.flushdb()
    with _use_broker(TEST_BROKER):
        yield client
    client.flushdb()


@pytest.fixture
def dead_broker() -> Iterator[None]:
    """A broker that refuses every connection."""
    with _use_broker(DEAD_BROKER):
        yield


def _published_tasks(client: redis.Redis, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while client.llen("celery") < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # time enough for a wrongly split batch to show
    tasks = []
    for raw in reversed(client.lrange("celery", 0, -1)):
        envelope = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
        tasks.append({"task": envelope["headers"]["task"], "args": args, "kwargs": kwargs})
    return tasks


def test_it_sends_right_after_the_commit_without_a_broker(
    sms_file: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batched: list[int] = []
    monkeypatch.setattr(services._outgoing, "add", batched.append)

    with django_capture_on_commit_callbacks(execute=True):
        first, second = _message(1), _message(2)

    assert batched == []
    assert [line["reference"] for line in read_lines(sms_file)] == [
        first.public_id,
        second.public_id,
    ]


def test_it_publishes_messages_committed_close_together_as_one_task(
    broker: redis.Redis,
    sms_file: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services._outgoing, "delay", 0.5)

    with django_capture_on_commit_callbacks(execute=True):
        messages = [_message(1), _message(2)]
    time.sleep(0.05)
    with django_capture_on_commit_callbacks(execute=True):
        messages.append(_message(3))

    tasks = _published_tasks(broker, 1)

    assert tasks == [
        {
            "task": "vaxnet.notifications.tasks.send_messages",
            "args": [[message.pk for message in messages]],
            "kwargs": {},
        }
    ]
    assert read_lines(sms_file) == []  # the workers send them
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.QUEUED}


def test_it_neither_fails_nor_slows_the_caller_when_the_broker_is_down(
    dead_broker: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="vaxnet.notifications.batching"):
        with django_capture_on_commit_callbacks() as callbacks:
            message = _message()
        started = time.monotonic()
        for callback in callbacks:
            callback()
        took = time.monotonic() - started
        services._outgoing.close(timeout=30)

    assert took < 0.05
    assert any("could not be published" in record.getMessage() for record in caplog.records)
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED  # for `send_pending`
