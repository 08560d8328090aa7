"""Test and staging transport: each message is one JSON line appended to a file."""

import fcntl
import json
from pathlib import Path

from django.utils import timezone

from vaxnet.notifications.gsm import is_gsm7
from vaxnet.notifications.models import Message
from vaxnet.notifications.transports.base import TransportError


class FileTransport:
    """Append messages to a JSON-lines file that tests, demos and other tools can read."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: Message) -> str:
        """Append the message as one JSON line, under an exclusive lock, and return its id."""
        line = json.dumps(
            {
                "at": timezone.now().isoformat(),
                "reference": message.public_id,
                "channel": message.channel,
                "to": message.recipient,
                "language": message.language,
                "template": message.template,
                "text": message.body,
                "unicode": not is_gsm7(message.body),
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                # Several workers append to one file: the lock keeps their lines whole.
                fcntl.flock(file, fcntl.LOCK_EX)
                try:
                    file.write(line + "\n")
                    file.flush()
                finally:
                    fcntl.flock(file, fcntl.LOCK_UN)
        except OSError as exc:
            raise TransportError(f"cannot write {self.path}: {exc}", retryable=True) from exc
        return message.public_id
