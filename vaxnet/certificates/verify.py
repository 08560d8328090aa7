"""Verify a certificate of any format: tell the format from the text, then ask its module.

The page, the API and `vaxnet verify` all come here. What they show the public is
`public_summary()`: the least a checker needs (name, age, vaccine, doses, status).
"""

import json
import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from vaxnet.certificates.formats import eu_dcc, shc, w3c_vc
from vaxnet.certificates.formats.base import FormatError, Reason, Summary, Trust, Verdict

# A QR code holds under 3 kB; a pasted .smart-health-card file or a credential JSON a little
# more. Anything bigger is not a certificate, and is refused before any parsing.
MAX_BYTES = 20_000
_ZIP_MAGIC = b"PK\x03\x04"
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_WHITESPACE = re.compile(r"\s+")

_REASON_MESSAGES: dict[str, Promise] = {
    Reason.UNREADABLE: _("This is not a vaccination certificate code that can be read."),
    Reason.PREFIX: _("This certificate's format or version is not supported."),
    Reason.ENCODING: _("The certificate code is damaged: it could not be decoded."),
    Reason.COMPRESSION: _("The certificate code is damaged: it could not be unpacked."),
    Reason.STRUCTURE: _("The certificate code is damaged: its contents are not in order."),
    Reason.SCHEMA: _("The certificate does not contain the data a certificate must contain."),
    Reason.UNKNOWN_KEY: _("The certificate was not signed by an issuer this service trusts."),
    Reason.SIGNATURE: _("The certificate's signature is not valid: it may have been altered."),
    Reason.KEY_EXPIRED: _("The certificate was signed with a key that was not valid then."),
    Reason.KEY_USAGE: _("The certificate was signed with a key not allowed to sign it."),
    Reason.NOT_YET_VALID: _("The certificate is not valid yet."),
    Reason.EXPIRED: _("The certificate has expired."),
    Reason.REVOKED: _("The certificate has been revoked by its issuer."),
}
_STATUS_LABELS: dict[str, Promise] = {
    Verdict.VALID: _("Valid"),
    Verdict.INVALID: _("Invalid"),
    Verdict.REVOKED: _("Revoked"),
}


def _unreadable(detail: str) -> Verdict:
    return Verdict.invalid("", Reason.UNREADABLE, detail)


def _from_json(text: str) -> str:
    """Return the format a JSON text is in: a W3C credential, a health card file, or none."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(document, dict):
        return ""
    if "@context" in document:
        return "w3c_vc"
    if "verifiableCredential" in document:
        return "shc"
    return ""


def _divoc(data: str | bytes, trust: Trust, at: datetime) -> Verdict:
    """Return the verdict on a DIVOC credential, with a birth year from its age if need be."""
    verdict = w3c_vc.verify(data, trust, at=at)
    summary = verdict.summary
    if summary is None or summary.birth_date or summary.issued_at is None:
        return verdict
    # CoWIN's credentials give the age at issuance, not a birth date: the year it implies
    # gives the age now to within a year, as a birth year does.
    try:
        age = int(w3c_vc.decode(data)["credentialSubject"]["age"])
    except (FormatError, KeyError, TypeError, ValueError):
        return verdict
    if not 0 <= age <= 150:
        return verdict
    birth_year = f"{summary.issued_at.year - age:04d}"
    return replace(verdict, summary=replace(summary, birth_date=birth_year))


def verify_any(data: str | bytes, trust: Trust, *, at: datetime | None = None) -> Verdict:
    """Return the verdict on a certificate's QR content in any format we read; never raise."""
    at = at or timezone.now()
    if len(data) > MAX_BYTES:
        return _unreadable(f"over {MAX_BYTES} bytes")
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
        if raw.startswith(_ZIP_MAGIC):
            return _divoc(raw, trust, at=at)
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _unreadable("binary data that is not a ZIP archive")
    text = data.strip().lstrip("\ufeff").strip()
    if len(text.encode("utf-8")) > MAX_BYTES:
        return _unreadable(f"over {MAX_BYTES} bytes")
    if text[:4].upper() == "HC1:":
        # Base45 has a space in its alphabet but no line breaks: only these were added.
        return eu_dcc.verify(text.replace("\r", "").replace("\n", ""), trust, at=at)
    if text[:5].lower() == "shc:/":
        return shc.verify(text, trust, at=at)
    if text.startswith("B64:"):
        return _divoc(_WHITESPACE.sub("", text), trust, at=at)
    if text.startswith("{"):
        kind = _from_json(text)
        if kind == "w3c_vc":
            return _divoc(text, trust, at=at)
        if kind == "shc":
            return shc.verify(text, trust, at=at)
        return _unreadable("JSON of no known certificate format")
    compact = _WHITESPACE.sub("", text)
    if _JWS.fullmatch(compact):
        return shc.verify(compact, trust, at=at)
    return _unreadable("no known prefix")


def reason_message(reason: str) -> str:
    """Return the plain message, in the active language, for a Reason code."""
    message = _REASON_MESSAGES.get(reason)
    return str(message) if message is not None else str(_REASON_MESSAGES[Reason.UNREADABLE])


def status_label(status: str) -> str:
    """Return the word, in the active language, for a verdict's status."""
    return str(_STATUS_LABELS.get(status, _STATUS_LABELS[Verdict.INVALID]))


def age_in_years(birth_date: str, on: date) -> int | None:
    """Return the age on a day from a birth date written YYYY-MM-DD, YYYY-MM or YYYY."""
    parts = birth_date.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else None
        day = int(parts[2]) if len(parts) > 2 else None
    except ValueError:
        return None
    if not 1 <= year <= on.year:
        return None
    age = on.year - year
    # With a month (and day) known, a birthday not reached yet this year takes one off.
    if month is not None and (on.month, on.day) < (month, day or 1):
        age -= 1
    return max(age, 0)


def _summary_dict(summary: Summary, on: date) -> dict[str, Any]:
    doses = [
        {"vaccine": dose.vaccine, "number": dose.number, "of": dose.series, "date": dose.date}
        for dose in summary.doses
    ]
    return {
        "name": summary.name,
        "age": age_in_years(summary.birth_date, on),
        "vaccine": summary.doses[-1].vaccine if summary.doses else "",
        "doses": doses,
    }


def public_summary(verdict: Verdict, *, on: date | None = None) -> dict[str, Any]:
    """Return the least a verifier shows: status, and name, age, vaccine, doses if known."""
    out: dict[str, Any] = {"status": verdict.status}
    if verdict.summary is not None:
        out.update(_summary_dict(verdict.summary, on or timezone.localdate()))
    return out


_FORMAT_LABELS: dict[str, str] = {
    "w3c_vc": "DIVOC (W3C Verifiable Credential)",
    "eu_dcc": "EU Digital COVID Certificate",
    "shc": "SMART Health Card",
}


def format_label(fmt: str) -> str:
    """Return the proper name of a certificate format, as issuers call it."""
    return _FORMAT_LABELS.get(fmt, "")
