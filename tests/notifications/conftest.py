"""Shared fixtures for the outbox tests: an SMS file to read, Celery in-process."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from vaxnet.celery import app as celery_app
from vaxnet.notifications import services
from vaxnet.notifications.models import Message

PHONE = "+919876543210"


@pytest.fixture(autouse=True)
def celery_in_process() -> Iterator[None]:
    """Run tasks in this process whatever broker the environment names, as without one."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def sms_file(settings: Settings, tmp_path: Path) -> Path:
    """Send SMS to a JSON-lines file in a folder that does not exist yet."""
    path = tmp_path / "outbox" / "sms.jsonl"
    settings.SMS_TRANSPORT = "file"
    settings.SMS_FILE = str(path)
    return path


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Return the messages a file transport wrote, one per line."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class FakeTransport:
    """A transport that records what it sends, or fails as told."""

    name = "fake"

    def __init__(self, *, error: Exception | None = None) -> None:
        self.sent: list[str] = []
        self.error = error

    def send(self, message: Message) -> str:
        if self.error is not None:
            raise self.error
        self.sent.append(message.body)
        return f"fake-{len(self.sent)}"


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> FakeTransport:
    """Send through a FakeTransport instead of the configured one."""
    fake = FakeTransport()
    monkeypatch.setattr(services, "get_transport", lambda: fake)
    return fake
