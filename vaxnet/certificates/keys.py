"""Signing keys, kept in files outside the repository: generated, rotated, listed, published.

The folder (settings.CERTIFICATE_KEYS_DIR) holds one sub-folder per format and one for the
country signing CA of EU DCC. Each key is a PEM file readable only by the service (0600) and a
JSON file of facts about it (kid, when made, active or retired). Rotation makes a new active key
and retires the old one: retired keys sign nothing but stay published, so that certificates
signed with them still verify.
"""

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID
from django.conf import settings

from vaxnet.certificates.formats.base import FORMATS, SHC, W3C_VC, SigningKey, TrustedKey
from vaxnet.certificates.formats.eu_dcc import dsc_kid
from vaxnet.certificates.formats.shc import jwk_thumbprint
from vaxnet.core.errors import DomainError

# Extended key usage of EU DCC document signers: may sign vaccination certificates.
DCC_EKU_VACCINATION = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")
CSCA = "csca"
DSC_YEARS = 2
CSCA_YEARS = 10
RID_SECRET_FILE = "rid.secret"  # noqa: S105 (a file name, not a secret)


class KeysMissing(DomainError):
    """No active signing key for a format: `vaxnet keys generate` has not been run."""

    def __init__(self, purpose: str) -> None:
        super().__init__(
            "keys_missing",
            f"No active signing key for {purpose}: run `vaxnet keys generate`.",
        )


@dataclass(frozen=True)
class KeyInfo:
    """What the folder says of one key."""

    purpose: str
    kid: str
    stem: str  # the file names' common part
    created_at: datetime
    status: str  # active | retired
    not_after: datetime | None

    def as_json(self) -> dict[str, Any]:
        """Return the facts as written to the key's JSON file."""
        return {
            "purpose": self.purpose,
            "kid": self.kid,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "not_after": self.not_after.isoformat() if self.not_after else None,
        }


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    """Return the Bitcoin base58 form of bytes, as DID documents write Ed25519 keys."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _BASE58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def issuer_did() -> str:
    """Return the did:web DID of this deployment, from its public URL."""
    parts = urlsplit(settings.PUBLIC_URL)
    host = (parts.hostname or "localhost") + (f"%3A{parts.port}" if parts.port else "")
    path = ":".join(p for p in parts.path.split("/") if p)
    return f"did:web:{host}" + (f":{path}" if path else "")


def _write_private(path: Path, key: PrivateKeyTypes) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created 0600 from the start: never readable by others, not even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _name(common_name: str, country: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ca_key_usage() -> x509.KeyUsage:
    """Return the key usage of a country signing CA: it signs certificates and CRLs only."""
    return _key_usage(key_cert_sign=True, crl_sign=True)


def signer_key_usage() -> x509.KeyUsage:
    """Return the key usage of a document signer: it signs documents only."""
    return _key_usage(digital_signature=True)


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(**{**flags, **allowed})


class KeyStore:
    """The signing keys in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._private: dict[str, PrivateKeyTypes] = {}

    # Reading

    def infos(self) -> list[KeyInfo]:
        """Return every key of every format, oldest first."""
        out = []
        for purpose in FORMATS:
            for meta in sorted((self.folder / purpose).glob("*.json")):
                data = json.loads(meta.read_text())
                out.append(
                    KeyInfo(
                        purpose=purpose,
                        kid=data["kid"],
                        stem=meta.stem,
                        created_at=datetime.fromisoformat(data["created_at"]),
                        status=data["status"],
                        not_after=(
                            datetime.fromisoformat(data["not_after"])
                            if data.get("not_after")
                            else None
                        ),
                    )
                )
        return sorted(out, key=lambda i: (i.purpose, i.created_at, i.stem))

    def active(self, purpose: str) -> KeyInfo | None:
        """Return the key a format signs with now, if there is one."""
        actives = [i for i in self.infos() if i.purpose == purpose and i.status == "active"]
        return actives[-1] if actives else None

    def _private_key(self, info: KeyInfo) -> PrivateKeyTypes:
        if info.stem not in self._private:
            pem = (self.folder / info.purpose / f"{info.stem}.key.pem").read_bytes()
            self._private[info.stem] = serialization.load_pem_private_key(pem, password=None)
        return self._private[info.stem]

    def certificate(self, info: KeyInfo) -> x509.Certificate | None:
        """Return the document signer certificate of an EU DCC key."""
        path = self.folder / info.purpose / f"{info.stem}.crt.pem"
        return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None

    def csca_certificate(self) -> x509.Certificate | None:
        """Return the country signing CA's certificate, if one was made."""
        path = self.folder / CSCA / "csca.crt.pem"
        return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None

    def signing_key(self, purpose: str) -> SigningKey:
        """Return the active key of a format, ready to sign."""
        info = self.active(purpose)
        if info is None:
            raise KeysMissing(purpose)
        key = self._private_key(info)
        return SigningKey(
            purpose=purpose,
            kid=info.kid,
            private_key=key,  # type: ignore[arg-type]
            certificate=self.certificate(info),
            key_id_url=info.kid if purpose == W3C_VC else "",
        )

    def trusted_keys(self) -> list[TrustedKey]:
        """Return the public half of every key a verifier should accept (active and retired)."""
        out = []
        for info in self.infos():
            certificate = self.certificate(info)
            public = (
                certificate.public_key()
                if certificate is not None
                else self._private_key(info).public_key()
            )
            out.append(
                TrustedKey(
                    purpose=info.purpose,
                    kid=info.kid,
                    public_key=public,  # type: ignore[arg-type]
                    not_before=(
                        certificate.not_valid_before_utc
                        if certificate
                        # Formats write times in whole seconds: a certificate signed in the
                        # second its key was made must not predate the key.
                        else info.created_at.replace(microsecond=0)
                    ),
                    not_after=(certificate.not_valid_after_utc if certificate else info.not_after),
                    certificate=certificate,
                    issuer=self._issuer(info.purpose, certificate),
                )
            )
        return out

    @staticmethod
    def _issuer(purpose: str, certificate: x509.Certificate | None) -> str:
        """Return who a format's verifiers expect the key to belong to."""
        if purpose == SHC:
            return str(settings.PUBLIC_URL)
        if purpose == W3C_VC:
            return issuer_did()
        if certificate is None:
            return ""
        return str(certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value)

    def rid_secret(self) -> bytes:
        """Return the secret SMART Health Card revocation ids are derived with."""
        path = self.folder / RID_SECRET_FILE
        if not path.exists():
            raise KeysMissing(SHC)
        return bytes.fromhex(path.read_text().strip())

    # Writing

    def generate(
        self,
        *,
        country: str,
        issuer: str,
        now: datetime | None = None,
        signer_years: int = DSC_YEARS,
    ) -> list[KeyInfo]:
        """Make a key for every format that has no active one (and the CA and secret)."""
        now = now or datetime.now(UTC)
        made = []
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        rid = self.folder / RID_SECRET_FILE
        if not rid.exists():
            fd = os.open(rid, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        for purpose in FORMATS:
            if self.active(purpose) is None:
                made.append(
                    self._make(purpose, country=country, issuer=issuer, now=now, years=signer_years)
                )
        return made

    def rotate(self, purpose: str, *, country: str, issuer: str) -> KeyInfo:
        """Make a new active key for a format; the old one is retired but stays published."""
        if purpose not in FORMATS:
            raise DomainError("unknown_format", f"No such certificate format: {purpose}.")
        old = self.active(purpose)
        made = self._make(purpose, country=country, issuer=issuer, now=datetime.now(UTC))
        if old is not None:
            self._set_status(old, "retired")
        return made

    def _set_status(self, info: KeyInfo, status: str) -> None:
        meta = self.folder / info.purpose / f"{info.stem}.json"
        data = json.loads(meta.read_text())
        data["status"] = status
        meta.write_text(json.dumps(data, indent=2) + "\n")

    def _csca(
        self, *, country: str, issuer: str, now: datetime, years: int = CSCA_YEARS
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        folder = self.folder / CSCA
        key_path, cert_path = folder / "csca.key.pem", folder / "csca.crt.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise DomainError("keys_broken", f"{key_path} is not a P-256 key.")
            return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"{issuer} CSCA"[:64], country)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ca_key_usage(), critical=True)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_path, key)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, cert

    def _make(
        self, purpose: str, *, country: str, issuer: str, now: datetime, years: int = DSC_YEARS
    ) -> KeyInfo:
        folder = self.folder / purpose
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        certificate = None
        not_after = None
        key: PrivateKeyTypes
        if purpose == W3C_VC:
            key = ed25519.Ed25519PrivateKey.generate()
            kid = f"{issuer_did()}#{stem}"
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            if purpose == SHC:
                kid = jwk_thumbprint(key.public_key())
            else:
                ca_key, ca_cert = self._csca(
                    country=country, issuer=issuer, now=now, years=max(CSCA_YEARS, years)
                )
                not_after = now + timedelta(days=365 * years)
                certificate = (
                    x509.CertificateBuilder()
                    .subject_name(_name(f"{issuer} DSC {stem}"[:64], country))
                    .issuer_name(ca_cert.subject)
                    .public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - timedelta(minutes=5))
                    .not_valid_after(not_after)
                    .add_extension(signer_key_usage(), critical=True)
                    .add_extension(x509.ExtendedKeyUsage([DCC_EKU_VACCINATION]), critical=False)
                    .sign(ca_key, hashes.SHA256())
                )
                kid = dsc_kid(certificate)
                (folder / f"{stem}.crt.pem").write_bytes(
                    certificate.public_bytes(serialization.Encoding.PEM)
                )
        _write_private(folder / f"{stem}.key.pem", key)
        info = KeyInfo(
            purpose=purpose,
            kid=kid,
            stem=stem,
            created_at=now,
            status="active",
            not_after=not_after,
        )
        (folder / f"{stem}.json").write_text(json.dumps(info.as_json(), indent=2) + "\n")
        return info


@lru_cache(maxsize=4)
def _store(folder: str, stamp: tuple[float, ...]) -> KeyStore:
    return KeyStore(Path(folder))


def keystore() -> KeyStore:
    """Return the key store of settings.CERTIFICATE_KEYS_DIR, reloaded when a key changes."""
    folder = Path(settings.CERTIFICATE_KEYS_DIR)
    # A rotation adds a key's files and rewrites the old key's facts: their times tell.
    stamp = tuple(sorted(meta.stat().st_mtime for meta in folder.glob("*/*.json")))
    return _store(str(folder), stamp)
