"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), and their secrets at rest.

Authenticator apps all speak SHA-1, 6 digits and 30-second steps; those are fixed here.

A TOTP secret cannot be hashed like a password: the server needs it to compute each code.
It is sealed before it is stored, with keys derived from SECRET_KEY: a copy of the database
alone (a backup, a replica, a dump handed to a contractor) does not give anyone the second
factor of every administrator. Sealing is HMAC-SHA256 as a keyed stream (a fresh random
nonce each time) and an HMAC tag over the nonce, the ciphertext and the owner, so a sealed
secret copied to another user's row does not open. SECRET_KEY_FALLBACKS still open secrets
sealed before a key rotation.
"""

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

from django.conf import settings

DIGITS = 6
STEP_SECONDS = 30
# Codes of the step before and after the current one are accepted too: phones' clocks drift.
TOLERANCE_STEPS = 1
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends

_SEAL_VERSION = "1"
_NONCE_BYTES = 16
_TAG_BYTES = 16


def new_secret() -> str:
    """Return a new random secret in base32, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _secret_bytes(secret: str) -> bytes:
    cleaned = secret.strip().replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(secret: str, counter: int) -> str:
    """Return the HOTP code of a base32 secret for a counter (RFC 4226, dynamic truncation)."""
    digest = hmac.new(_secret_bytes(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def time_step(at: datetime) -> int:
    """Return the RFC 6238 time step of a moment."""
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime) -> str:
    """Return the code an authenticator app shows at a moment."""
    return hotp(secret, time_step(at))


def matching_step(secret: str, code: str, *, at: datetime) -> int | None:
    """Return the time step near `at` whose code this is, or None if none matches."""
    typed = normalise_code(code)
    if typed is None:
        return None
    now = time_step(at)
    found = None
    # Compare with every step in the tolerance, so the time taken says nothing about which.
    for step in range(now - TOLERANCE_STEPS, now + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(hotp(secret, step), typed) and found is None:
            found = step
    return found


def normalise_code(raw: str) -> str | None:
    """Return a typed code without spaces or dashes, or None if it is not DIGITS digits."""
    code = raw.replace(" ", "").replace("-", "").strip()
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    return code


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def _keys(secret_key: str) -> tuple[bytes, bytes]:
    root = hmac.new(secret_key.encode(), b"vaxnet.core.totp.seal", hashlib.sha256).digest()
    stream = hmac.new(root, b"stream", hashlib.sha256).digest()
    tag = hmac.new(root, b"tag", hashlib.sha256).digest()
    return stream, tag


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = [
        hmac.new(key, nonce + struct.pack(">I", i), hashlib.sha256).digest()
        for i in range(-(-length // 32))
    ]
    return b"".join(blocks)[:length]


def _tag(key: bytes, owner: str, nonce: bytes, ciphertext: bytes) -> bytes:
    message = owner.encode() + b"\x00" + nonce + ciphertext
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def seal(secret: str, *, owner: str) -> str:
    """Return the secret sealed for storage in the row of its owner (a stable id)."""
    stream_key, tag_key = _keys(settings.SECRET_KEY)
    plain = secret.encode("ascii")
    nonce = secrets.token_bytes(_NONCE_BYTES)
    stream = _keystream(stream_key, nonce, len(plain))
    ciphertext = bytes(a ^ b for a, b in zip(plain, stream, strict=True))
    blob = nonce + ciphertext + _tag(tag_key, owner, nonce, ciphertext)
    return f"{_SEAL_VERSION}${base64.urlsafe_b64encode(blob).decode('ascii')}"


def unseal(sealed: str, *, owner: str) -> str:
    """Return a sealed secret; ValueError if no current or fallback key opens it for the owner."""
    version, _, encoded = sealed.partition("$")
    if version != _SEAL_VERSION:
        raise ValueError("Unknown sealed secret format.")
    blob = base64.urlsafe_b64decode(encoded.encode("ascii"))
    nonce, ciphertext, tag = (
        blob[:_NONCE_BYTES],
        blob[_NONCE_BYTES:-_TAG_BYTES],
        blob[-_TAG_BYTES:],
    )
    for secret_key in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        stream_key, tag_key = _keys(secret_key)
        if hmac.compare_digest(_tag(tag_key, owner, nonce, ciphertext), tag):
            stream = _keystream(stream_key, nonce, len(ciphertext))
            return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=True)).decode("ascii")
    raise ValueError("The sealed secret does not open with any key.")
