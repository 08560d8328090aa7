"""The EU Digital COVID Certificate: a CWT in a COSE_Sign1, zlib-compressed, Base45, `HC1:`.

Built by hand on cbor2 and cryptography so that every step of the chain is visible and each
failure maps to one `Reason`.
"""

import base64
import hashlib
import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import (
    encode_dss_signature,
)

from vaxnet.certificates.formats.base import (
    COMPRESSED_MASK,
    EU_DCC,
    DoseSummary,
    FormatError,
    Reason,
    SigningKey,
    Summary,
    Trust,
    TrustedKey,
    Verdict,
    es256_sign,
)
from vaxnet.certificates.record import CertificateRecord
from vaxnet.core.qr import QrSymbol, qr_make

PREFIX = "HC1:"
SCHEMA_VERSION = "1.3.0"

# CWT claim keys (RFC 8392) and the EU health certificate claim.
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260
HCERT_DCC = 1

# COSE header labels and algorithms (RFC 8152).
HEADER_ALG = 1
HEADER_KID = 4
ES256 = -7
PS256 = -37
TAG_COSE_SIGN1 = 18
TAG_CWT = 61

# The codes a dose needs to appear in an EU DCC, from the EU value sets.
REQUIRED_CODES = ("eu_tg", "eu_vp", "eu_mp", "eu_ma")
ISSUER_MAX_LENGTH = 80
NAME_MAX_LENGTH = 80

# Extended key usages a DSC may carry to limit what it signs, by payload type. The early
# specification used an OID with an extra ".0" arc; DSCs with it are still in circulation.
KEY_USAGE_OIDS = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}
PAYLOAD_TYPES = ("v", "t", "r")
VACCINATION_FIELDS = ("tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci")

# A QR code holds at most 4296 alphanumeric characters; a far larger inflated stream is an
# attack on the verifier, not a certificate.
MAX_INFLATED = 64 * 1024


@dataclass(frozen=True)
class _Sign1:
    """A COSE_Sign1 message, taken apart."""

    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes
    claims: dict[Any, Any]

    def header(self, label: int) -> Any:
        """Return a header value, the protected one taking precedence."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)


def supports(record: CertificateRecord) -> bool:
    """Return whether the record's last dose has the EU value-set codes an EU DCC needs."""
    if not record.doses:
        return False
    codes = record.last_dose.codes
    return all(codes.get(code) for code in REQUIRED_CODES)


def dsc_kid(certificate: x509.Certificate) -> str:
    """Return the EU kid of a document signer certificate: its first 8 SHA-256 bytes."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(hashlib.sha256(der).digest()[:8]).decode("ascii")


def payload(record: CertificateRecord, *, expires_at: datetime) -> dict[int, Any]:
    """Return the CWT claims of a vaccination certificate for the record's last dose."""
    if not supports(record):
        raise ValueError("the last dose has no EU DCC value-set codes")
    dose = record.last_dose
    codes = dose.codes
    entry = {
        "tg": codes["eu_tg"],
        "vp": codes["eu_vp"],
        "mp": codes["eu_mp"],
        "ma": codes["eu_ma"],
        "dn": dose.number,
        # A booster is "n of n"; the schema wants the series never below the dose number.
        "sd": max(dose.series, dose.number),
        "dt": dose.given_on.isoformat(),
        "co": dose.country,
        "is": record.issuer[:ISSUER_MAX_LENGTH],
        "ci": record.certificate_id,
    }
    hcert = {
        "ver": SCHEMA_VERSION,
        # The record keeps one name, not surname and forename apart: it all goes in `fn`.
        "nam": {
            "fn": record.name[:NAME_MAX_LENGTH],
            "fnt": record.name_latin[:NAME_MAX_LENGTH],
        },
        "dob": record.birth_date,
        "v": [entry],
    }
    return {
        CLAIM_ISS: record.issuer_country,
        CLAIM_EXP: int(expires_at.timestamp()),
        CLAIM_IAT: int(record.issued_at.timestamp()),
        CLAIM_HCERT: {HCERT_DCC: hcert},
    }


def encode(record: CertificateRecord, key: SigningKey, *, expires_at: datetime) -> str:
    """Return the signed `HC1:` text of the record."""
    private_key = key.private_key
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("ES256 signs with P-256 keys only")
        alg = ES256
    elif isinstance(private_key, rsa.RSAPrivateKey):
        alg = PS256
    else:
        raise ValueError("EU DCC keys are EC P-256 (ES256) or RSA (PS256)")
    protected = cbor2.dumps({HEADER_ALG: alg, HEADER_KID: base64.b64decode(key.kid)})
    claims = cbor2.dumps(payload(record, expires_at=expires_at))
    to_sign = _sig_structure(protected, claims)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        signature = es256_sign(private_key, to_sign)
    else:
        signature = private_key.sign(to_sign, _pss(), hashes.SHA256())
    message = cbor2.dumps(cbor2.CBORTag(TAG_COSE_SIGN1, [protected, {}, claims, signature]))
    return PREFIX + base45.b45encode(zlib.compress(message, 9)).decode("ascii")


def decode(text: str) -> dict[Any, Any]:
    """Return the CWT claims of an `HC1:` text, without verifying it."""
    return _unwrap(text).claims


def verify(text: str, trust: Trust, *, at: datetime) -> Verdict:
    """Return whether an `HC1:` text is a valid certificate signed by a trusted key."""
    if at.tzinfo is None:
        # A caller's mistake, not bad input: it must not turn into a refusal.
        raise ValueError("verify needs an aware datetime")
    try:
        return _verify(text, trust, at)
    except FormatError as error:
        return Verdict.invalid(EU_DCC, error.reason, error.detail)
    except Exception as error:
        # The input is hostile by assumption; a check we did not foresee must still end in
        # a refusal, never in a server error.
        return Verdict.invalid(EU_DCC, Reason.STRUCTURE, f"unexpected: {error!r}")


def _verify(text: str, trust: Trust, at: datetime) -> Verdict:
    """Return the verdict of the first check that fails, in order; let `_unwrap` raise."""
    message = _unwrap(text)
    kid_value = message.header(HEADER_KID)
    if not isinstance(kid_value, bytes) or not kid_value:
        raise FormatError(Reason.UNKNOWN_KEY, "no kid")
    kid = base64.b64encode(kid_value).decode("ascii")
    trusted = trust.find(EU_DCC, kid)
    if trusted is None:
        return Verdict.invalid(EU_DCC, Reason.UNKNOWN_KEY, f"kid {kid}", kid=kid)
    try:
        _check_signature(message, trusted.public_key)
        issued_at, expires_at = _check_times(message.claims, at)
        _check_key_validity(trusted, issued_at)
        hcert = _hcert(message.claims)
        _check_key_usage(trusted, hcert)
        _check_schema(hcert)
    except FormatError as error:
        return Verdict.invalid(EU_DCC, error.reason, error.detail, kid=kid)
    summary = _summary(hcert, issued_at, expires_at)
    if summary.certificate_id in trust.revoked_ids:
        return Verdict.revoked(EU_DCC, summary, kid)
    return Verdict(status=Verdict.VALID, format=EU_DCC, summary=summary, kid=kid)


def _unwrap(text: str) -> _Sign1:
    """Take an `HC1:` text apart down to the CWT claims; raise `FormatError`."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise FormatError(Reason.PREFIX, text[:4])
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, KeyError, IndexError) as error:
        raise FormatError(Reason.ENCODING, str(error)) from error
    raw = _inflate(compressed)
    item = _cbor_one(raw)
    # Tag 61 (CWT) around tag 18 is allowed ("double tagged"); so is a bare array.
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
        if not (isinstance(item, cbor2.CBORTag) and item.tag == TAG_COSE_SIGN1):
            raise FormatError(Reason.STRUCTURE, "tag 61 without tag 18 inside")
    if isinstance(item, cbor2.CBORTag):
        if item.tag != TAG_COSE_SIGN1:
            raise FormatError(Reason.STRUCTURE, f"tag {item.tag}")
        item = item.value
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise FormatError(Reason.STRUCTURE, "not a COSE_Sign1 array")
    protected_bytes, unprotected, body, signature = item
    if not isinstance(protected_bytes, bytes):
        raise FormatError(Reason.STRUCTURE, "protected header is not a byte string")
    if not isinstance(unprotected, Mapping):
        raise FormatError(Reason.STRUCTURE, "unprotected header is not a map")
    if not isinstance(body, bytes) or not isinstance(signature, bytes):
        raise FormatError(Reason.STRUCTURE, "payload or signature is not a byte string")
    protected = _cbor_one(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, Mapping):
        raise FormatError(Reason.STRUCTURE, "protected header is not a map")
    claims = _cbor_one(body)
    if not isinstance(claims, Mapping):
        raise FormatError(Reason.STRUCTURE, "payload is not a map")
    container = claims.get(CLAIM_HCERT)
    if not isinstance(container, Mapping) or not isinstance(container.get(HCERT_DCC), Mapping):
        raise FormatError(Reason.STRUCTURE, "no health certificate claim")
    return _Sign1(
        protected_bytes=protected_bytes,
        protected=protected,
        unprotected=unprotected,
        payload=body,
        signature=signature,
        claims=_thaw(claims),
    )


def _inflate(data: bytes) -> bytes:
    """Return the zlib stream inflated, refusing broken, truncated and oversized streams."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as error:
        raise FormatError(Reason.COMPRESSION, str(error)) from error
    if inflater.unconsumed_tail:
        raise FormatError(Reason.COMPRESSION, "inflates too large")
    if not inflater.eof or inflater.unused_data:
        raise FormatError(Reason.COMPRESSION, "truncated or trailing data")
    return raw


def _cbor_one(data: bytes) -> Any:
    """Return the one CBOR item in `data`; trailing bytes make the structure broken."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as error:
        raise FormatError(Reason.STRUCTURE, f"CBOR: {error}") from error
    if stream.tell() != len(data):
        raise FormatError(Reason.STRUCTURE, "trailing bytes after the CBOR item")
    return item


def _thaw(value: Any) -> Any:
    """Return decoded CBOR as plain dicts and lists, for callers and JSON Schema."""
    if isinstance(value, Mapping):
        return {_thaw(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value


def _sig_structure(protected: bytes, body: bytes) -> bytes:
    """Return the bytes a COSE_Sign1 signature covers (no external data)."""
    return cbor2.dumps(["Signature1", protected, b"", body])


def _pss() -> padding.PSS:
    """Return PS256 padding: MGF1 with SHA-256 and a salt as long as the hash (RFC 8230)."""
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _check_signature(message: _Sign1, public_key: CertificatePublicKeyTypes) -> None:
    """Raise unless the signature verifies with the key and the header's algorithm."""
    alg = message.header(HEADER_ALG)
    to_sign = _sig_structure(message.protected_bytes, message.payload)
    signature = message.signature
    try:
        if alg == ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            if not isinstance(public_key.curve, ec.SECP256R1) or len(signature) != 64:
                raise FormatError(Reason.SIGNATURE, "ES256 needs P-256 and a 64-byte r||s")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            public_key.verify(der, to_sign, ec.ECDSA(hashes.SHA256()))
        elif alg == PS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, to_sign, _pss(), hashes.SHA256())
        else:
            raise FormatError(Reason.SIGNATURE, f"algorithm {alg!r} does not fit the key")
    except InvalidSignature as error:
        raise FormatError(Reason.SIGNATURE, "signature does not verify") from error


def _timestamp(claims: Mapping[Any, Any], claim: int) -> datetime:
    """Return a NumericDate claim as an aware datetime; a missing or bad one breaks the schema."""
    value = claims.get(claim)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(Reason.SCHEMA, f"claim {claim} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise FormatError(Reason.SCHEMA, f"claim {claim} out of range") from error


def _check_times(claims: Mapping[Any, Any], at: datetime) -> tuple[datetime, datetime]:
    """Return iat and exp; raise unless `at` lies between them."""
    issued_at = _timestamp(claims, CLAIM_IAT)
    expires_at = _timestamp(claims, CLAIM_EXP)
    if at < issued_at:
        raise FormatError(Reason.NOT_YET_VALID, f"issued {issued_at.isoformat()}")
    if at >= expires_at:
        raise FormatError(Reason.EXPIRED, f"expired {expires_at.isoformat()}")
    return issued_at, expires_at


def _check_key_validity(trusted: TrustedKey, issued_at: datetime) -> None:
    """Raise unless the DSC was valid when the certificate was issued."""
    not_before, not_after = trusted.not_before, trusted.not_after
    if trusted.certificate is not None:
        not_before = trusted.certificate.not_valid_before_utc
        not_after = trusted.certificate.not_valid_after_utc
    if not_before is not None and issued_at < not_before:
        raise FormatError(Reason.KEY_EXPIRED, "issued before the DSC was valid")
    if not_after is not None and issued_at > not_after:
        raise FormatError(Reason.KEY_EXPIRED, "issued after the DSC expired")


def _hcert(claims: Mapping[Any, Any]) -> dict[str, Any]:
    """Return the health certificate in the claims (`_unwrap` made sure it is a map)."""
    hcert: dict[str, Any] = claims[CLAIM_HCERT][HCERT_DCC]
    return hcert


def _check_key_usage(trusted: TrustedKey, hcert: Mapping[str, Any]) -> None:
    """Raise if the DSC limits what it signs and this payload type is not among it."""
    if trusted.certificate is None:
        return
    try:
        usages = trusted.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    allowed = {KEY_USAGE_OIDS[o.dotted_string] for o in usages if o.dotted_string in KEY_USAGE_OIDS}
    if not allowed:
        return
    present = {kind for kind in PAYLOAD_TYPES if kind in hcert}
    if not present <= allowed:
        raise FormatError(
            Reason.KEY_USAGE, f"DSC may sign {sorted(allowed)}, not {sorted(present)}"
        )


def _check_schema(hcert: Mapping[str, Any]) -> None:
    """Raise unless the payload has what a verifier shows (a light check, not the schema)."""
    nam = hcert.get("nam")
    if not isinstance(nam, dict) or not isinstance(nam.get("fnt"), str) or not nam["fnt"]:
        raise FormatError(Reason.SCHEMA, "nam.fnt missing")
    if not isinstance(hcert.get("dob"), str):
        raise FormatError(Reason.SCHEMA, "dob missing")
    present = [kind for kind in PAYLOAD_TYPES if kind in hcert]
    if len(present) != 1:
        raise FormatError(Reason.SCHEMA, "not exactly one of v, t, r")
    entries = hcert[present[0]]
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise FormatError(Reason.SCHEMA, f"{present[0]} must hold exactly one entry")
    entry = entries[0]
    if not isinstance(entry.get("ci"), str):
        raise FormatError(Reason.SCHEMA, "ci missing")
    if present[0] == "v":
        missing = [name for name in VACCINATION_FIELDS if name not in entry]
        if missing:
            raise FormatError(Reason.SCHEMA, f"v lacks {', '.join(missing)}")
        for name in ("dn", "sd"):
            if isinstance(entry[name], bool) or not isinstance(entry[name], int):
                raise FormatError(Reason.SCHEMA, f"{name} is not an integer")


def _summary(hcert: Mapping[str, Any], issued_at: datetime, expires_at: datetime) -> Summary:
    """Return what a verifier shows of a checked payload."""
    nam = hcert["nam"]
    if nam.get("fn"):
        name = " ".join(str(p) for p in (nam.get("gn"), nam["fn"]) if p)
    else:
        # ICAO 9303 separates name parts with "<"; people read spaces.
        latin = " ".join(str(p) for p in (nam.get("gnt"), nam.get("fnt")) if p)
        name = " ".join(latin.replace("<", " ").split())
    entry = next(hcert[kind][0] for kind in PAYLOAD_TYPES if kind in hcert)
    doses: tuple[DoseSummary, ...] = ()
    if "v" in hcert:
        doses = (
            DoseSummary(
                vaccine=str(entry["mp"]),
                number=entry["dn"],
                series=entry["sd"],
                date=str(entry["dt"]),
                country=str(entry["co"]),
            ),
        )
    return Summary(
        name=name,
        birth_date=hcert["dob"],
        doses=doses,
        certificate_id=entry["ci"],
        issuer=str(entry.get("is", "")),
        issued_at=issued_at,
        expires_at=expires_at,
    )


def qr(text: str) -> QrSymbol:
    """Return the QR code of `HC1:` text: Base45 is all alphanumeric-mode characters; level Q."""
    return qr_make(text, error="Q", mask=COMPRESSED_MASK)
