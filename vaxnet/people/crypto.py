"""The keyed hashes that stand in for secrets we must check but never keep."""

import hashlib
import hmac
import re

from django.conf import settings

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def id_number_hash(*, country_code: str, id_type_code: str, number: str) -> str:
    """Return the keyed hash (hex HMAC-SHA256) of a normalised identity document number."""
    message = f"{country_code}:{id_type_code}:{number}".encode()
    return hmac.new(settings.ID_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()


def otp_code_digest(code: str) -> str:
    """Return the SHA-256 (hex) of a one-time code, as CoWIN clients send it instead of the code."""
    return hashlib.sha256(code.encode()).hexdigest()


def otp_code_hash(*, txn: str, code: str | None = None, code_sha256: str | None = None) -> str:
    """Return the keyed hash (hex HMAC-SHA256) of a one-time code sent for a challenge.

    Give the code, or its SHA-256 in hex (what CoWIN clients send): both give the same hash,
    so a challenge can be answered either way while only the keyed hash is kept.
    """
    if (code is None) == (code_sha256 is None):
        raise ValueError("Give either the code or its SHA-256, not both.")
    digest = otp_code_digest(code) if code is not None else str(code_sha256).strip().lower()
    if not _SHA256_HEX.fullmatch(digest):
        # Never matches a kept hash (those are made from a real digest), yet costs the same.
        digest = "-" + otp_code_digest(digest)
    # The challenge id is part of the message, so equal codes never hash alike.
    message = f"otp:{txn}:{digest}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
