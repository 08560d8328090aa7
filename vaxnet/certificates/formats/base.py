"""What every format module shares: keys to sign with, keys to trust, and the verdict.

A format module offers three functions:

- `encode(record, key) -> str`: the QR text (`HC1:…`, `shc:/…`, or the DIVOC text form);
- `decode(text) -> dict`: the payload, unverified (for tools and tests); raises `FormatError`;
- `verify(text, trust, *, at) -> Verdict`: never raises for bad input.
"""

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

# The formats, by the name keys and payloads are filed under.
W3C_VC = "w3c_vc"
EU_DCC = "eu_dcc"
SHC = "shc"
FORMATS = (W3C_VC, EU_DCC, SHC)
# Every format's QR code holds compressed data, random-looking under any data mask: one fixed
# mask spares the encoder scoring all eight (core.qr.qr_make).
COMPRESSED_MASK = 0


def b64url(data: bytes) -> str:
    """Return base64url text without padding, as JOSE writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def es256_sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Return an ES256 signature as JOSE and COSE write it: r and s, 32 bytes each."""
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Reason:
    """Why a certificate was not accepted: codes the page and the API translate."""

    UNREADABLE = "unreadable"  # not a QR text of any format we know
    PREFIX = "prefix"  # a known format with an unsupported prefix or version
    ENCODING = "encoding"  # Base45 / numeric / base64 is broken
    COMPRESSION = "compression"  # zlib / DEFLATE is broken
    STRUCTURE = "structure"  # CBOR, COSE, JWS or JSON-LD structure is broken
    SCHEMA = "schema"  # the payload does not follow the format's schema
    UNKNOWN_KEY = "unknown_key"  # no trusted key has this kid
    SIGNATURE = "signature"  # the signature does not verify
    KEY_EXPIRED = "key_expired"  # the signing key was not valid when the certificate was made
    KEY_USAGE = "key_usage"  # the key may not sign this kind of certificate
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


class FormatError(Exception):
    """A payload that cannot be decoded; `reason` is one of `Reason`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SigningKey:
    """A private key of one format, with its kid and (EU DCC) document signer certificate."""

    purpose: str  # one of FORMATS
    kid: str  # as the format writes it: base64 of 8 bytes (EU DCC), JWK thumbprint (SHC), …
    private_key: CertificateIssuerPrivateKeyTypes
    certificate: x509.Certificate | None = None  # the DSC for EU DCC
    # Where verifiers find the key: the DID URL for W3C credentials.
    key_id_url: str = ""


@dataclass(frozen=True)
class TrustedKey:
    """A public key a verifier accepts, and when it was valid."""

    purpose: str
    kid: str
    public_key: CertificatePublicKeyTypes
    not_before: datetime | None = None
    not_after: datetime | None = None
    certificate: x509.Certificate | None = None
    issuer: str = ""  # SHC `iss`, DID for W3C, country code for EU DCC


@dataclass
class Trust:
    """The keys and the revocation list a verification uses."""

    keys: list[TrustedKey] = field(default_factory=list)
    # Certificate ids (UVCIs) revoked, and SHC revocation ids per kid.
    revoked_ids: set[str] = field(default_factory=set)
    revoked_rids: dict[str, set[str]] = field(default_factory=dict)

    def find(self, purpose: str, kid: str) -> TrustedKey | None:
        """Return the trusted key of a format with this kid, if any."""
        for key in self.keys:
            if key.purpose == purpose and key.kid == kid:
                return key
        return None

    def of(self, purpose: str) -> list[TrustedKey]:
        """Return every trusted key of a format."""
        return [key for key in self.keys if key.purpose == purpose]


@dataclass(frozen=True)
class DoseSummary:
    """One dose as a verifier shows it."""

    vaccine: str
    number: int
    series: int
    date: str  # YYYY-MM-DD
    country: str = ""


@dataclass(frozen=True)
class Summary:
    """The minimum a verifier shows: who, born when, what, how many doses."""

    name: str
    birth_date: str  # YYYY-MM-DD, YYYY-MM or YYYY
    doses: tuple[DoseSummary, ...]
    certificate_id: str = ""
    issuer: str = ""
    issued_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """The result of verifying one QR text."""

    VALID = "valid"
    INVALID = "invalid"
    REVOKED = "revoked"

    status: str  # valid | invalid | revoked
    format: str  # one of FORMATS, or "" when unreadable
    reason: str = ""  # one of Reason when not valid
    detail: str = ""  # for logs and the command line; not shown to the public
    summary: Summary | None = None
    kid: str = ""

    @property
    def valid(self) -> bool:
        """Return whether the certificate was accepted."""
        return self.status == self.VALID

    @classmethod
    def invalid(cls, fmt: str, reason: str, detail: str = "", **kw: Any) -> "Verdict":
        """Return a refusal for a reason."""
        return cls(status=cls.INVALID, format=fmt, reason=reason, detail=detail, **kw)

    @classmethod
    def revoked(cls, fmt: str, summary: Summary, kid: str, detail: str = "") -> "Verdict":
        """Return the verdict on a genuine certificate its issuer revoked."""
        return cls(
            status=cls.REVOKED,
            format=fmt,
            reason=Reason.REVOKED,
            detail=detail,
            summary=summary,
            kid=kid,
        )
