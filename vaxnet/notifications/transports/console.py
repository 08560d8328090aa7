"""Development transport: each message is printed as one line on standard output."""

import sys

from vaxnet.notifications.models import Message


class ConsoleTransport:
    """Print messages instead of sending them; the developer's terminal is the phone."""

    name = "console"

    def send(self, message: Message) -> str:
        """Print the message on one line and return its public id."""
        text = message.body.replace("\n", " ")
        sys.stdout.write(f"[{message.channel} to {message.recipient}, {message.language}] {text}\n")
        sys.stdout.flush()
        return message.public_id
