"""vaxnet verify FILE_OR_TEXT [--keys BUNDLE.json] [--at ISO]: check one certificate.

With --keys the check needs nothing but the bundle (`vaxnet keys export`): no database is
opened, so a border post or an airline can verify offline. Exits 0 when valid, 1 otherwise.
"""

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vaxnet.certificates.formats.base import Trust, Verdict
from vaxnet.certificates.trust import trust_from_bundle, trust_from_store
from vaxnet.certificates.verify import MAX_BYTES, public_summary, reason_message, verify_any

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_ZIP_MAGIC = b"PK\x03\x04"
# Longer than any path: an argument this long is the certificate text itself.
_MAX_PATH = 1024


def read_qr_image(content: bytes) -> str | bytes:
    """Return the content of the first QR code in a PNG or JPEG: bytes for DIVOC's ZIP."""
    # Image decoding is loaded only when an image is given.
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise CommandError(f"Cannot read the image: {error}") from None
    qr_only = zxingcpp.BarcodeFormat.QRCode
    found = zxingcpp.read_barcodes(image.convert("L"), formats=qr_only)  # type: ignore[arg-type]
    if not found:
        raise CommandError("No QR code found in the image.")
    code = found[0]
    # DIVOC's QR holds a ZIP archive as raw bytes: its text would be mangled.
    return code.bytes if code.bytes.startswith(_ZIP_MAGIC) else code.text


def read_input(argument: str) -> str | bytes:
    """Return what to verify: a QR image's content, a file's content, or the argument itself."""
    path = Path(argument) if len(argument) < _MAX_PATH and "\n" not in argument else None
    if argument == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    if path is None or not path.is_file():
        return argument
    with path.open("rb") as f:
        # Images of a QR code are bigger than any certificate text: allow a few megabytes.
        content = f.read(20 * 1024 * 1024)
    if content.startswith(_IMAGE_MAGIC):
        return read_qr_image(content)
    if content.startswith(_ZIP_MAGIC):
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content


def _trust(bundle: str | None) -> Trust:
    # Only the store needs the database; a bundle is read without opening it.
    if bundle is None:
        return trust_from_store()
    try:
        data = json.loads(Path(bundle).read_text(encoding="utf-8"))
        return trust_from_bundle(data)
    except (OSError, ValueError) as error:
        raise CommandError(f"Cannot read the key bundle {bundle}: {error}") from None


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--at {value!r} is not an ISO date or date-time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Verify a vaccination certificate (EU DCC, SMART Health Card or DIVOC) given as a QR "
        "image, a file, or the text; offline with --keys. Exit status 0 when valid."
    )
    # The system checks may read the database; a verifier offline has none.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", help="a PNG/JPEG of the QR code, a text file, or the text")
        parser.add_argument("--keys", help="a key bundle from `vaxnet keys export` (offline)")
        parser.add_argument("--at", help="verify as at this ISO date-time (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        data = read_input(options["input"])
        trust = _trust(options.get("keys"))
        verdict = verify_any(data, trust, at=_moment(options.get("at")))
        self._print(verdict)
        if not verdict.valid:
            sys.exit(1)

    def _print(self, verdict: Verdict) -> None:
        style = self.style.SUCCESS if verdict.valid else self.style.ERROR
        self.stdout.write(style(f"status: {verdict.status}"))
        self.stdout.write(f"format: {verdict.format or '-'}")
        if verdict.reason:
            self.stdout.write(f"reason: {verdict.reason} ({reason_message(verdict.reason)})")
        if verdict.detail:
            self.stdout.write(f"detail: {verdict.detail}")
        if verdict.kid:
            self.stdout.write(f"kid: {verdict.kid}")
        summary = public_summary(verdict)
        summary.pop("status")
        if summary:
            self.stdout.write("summary: " + json.dumps(summary, ensure_ascii=False))
