"""Two workers handed the same message send it once."""

import threading
import time

import pytest
from django.db import connection

from tests.notifications.conftest import PHONE
from vaxnet.notifications import services
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_send


class SlowTransport:
    """Takes its time over each message, so that a second worker has every chance to barge in."""

    name = "slow"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> str:
        time.sleep(0.2)
        with self.lock:
            self.sent.append(message.public_id)
        return "slow-1"


# Committed data, for the workers' own connections to see. Only this app's table is emptied
# afterwards: a full flush would take away the TEST country that other tests rely on.
pytestmark = pytest.mark.django_db(transaction=True, available_apps=["vaxnet.notifications"])


@pytest.fixture
def committed_message() -> Message:
    return Message.objects.create(
        recipient=PHONE, language="en", template="booking_cancelled", body="Cancelled."
    )


def test_it_sends_a_message_once_when_two_workers_try_at_once(
    committed_message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = SlowTransport()
    monkeypatch.setattr(services, "get_transport", lambda: transport)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            mine = Message.objects.get(pk=committed_message.pk)
            start.wait()
            message_send(message=mine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert transport.sent == [committed_message.public_id]
    message = Message.objects.get(pk=committed_message.pk)
    assert message.status == Message.Status.SENT
    assert message.attempts == 1
