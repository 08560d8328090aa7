"""Real vaxnet servers for the tests that need one: a free port and a development environment."""

import os
import socket
from pathlib import Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(var: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a development server of the TEST pack keeping its state in var.

    The test process's own database, secrets and SMS settings are left out; citizens' SMS
    go to var/sms.jsonl, one JSON line each, where the tests read them as a phone would.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "SECRET_", "ALLOWED_", "SECURE_", "VAXNET_SMS_"))
    }
    env.update(
        VAXNET_DEV="1",
        VAXNET_COUNTRY="TEST",
        VAXNET_VAR_DIR=str(var),
        VAXNET_SMS_TRANSPORT="file",
        VAXNET_SMS_FILE=str(var / "sms.jsonl"),
    )
    env.update(extra)
    return env
