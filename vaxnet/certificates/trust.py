"""What verifiers trust: the published keys and the revocation list, from the store or a bundle.

`trust_from_store()` is what this server verifies with. It is asked on every public
verification, so each process keeps the answer for TRUST_SECONDS: a certificate revoked (or a
key added by `vaxnet keys rotate`, which shows at once because the key store changes) is
refused by every process at most TRUST_SECONDS later. `public_bundle()` is the same trust as
JSON (public keys only) for offline verifiers such as `vaxnet verify --keys`, and
`trust_from_bundle()` reads it back.
"""

import threading
import time
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from vaxnet.certificates.formats.base import FORMATS, Trust, TrustedKey
from vaxnet.certificates.keys import KeyStore, keystore
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.queries import revoked_ids, revoked_rids

# How long a process reuses the trust it read: the longest a revocation takes to show.
TRUST_SECONDS = 5.0
BUNDLE_FORMAT = "vaxnet-trust-bundle"
BUNDLE_VERSION = 1


class BundleError(ValueError):
    """A key bundle that cannot be read."""


def _revoked_rids(store: KeyStore) -> dict[str, set[str]]:
    """Return the SMART Health Card revocation ids of revoked certificates, per signing kid."""
    if not Certificate.objects.filter(status=Certificate.Status.REVOKED).exists():
        return {}  # no secret needed (nor any key made) while nothing is revoked
    return {kid: set(rids) for kid, rids in revoked_rids(store.rid_secret()).items()}


def _read_store() -> Trust:
    store = keystore()
    return Trust(
        keys=store.trusted_keys(),
        revoked_ids=set(revoked_ids()),
        revoked_rids=_revoked_rids(store),
    )


class _Kept:
    """One process's last reading of the store: the store it came from and when."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.store: KeyStore | None = None
        self.read_at = 0.0
        self.trust: Trust | None = None


_kept = _Kept()


def trust_from_store() -> Trust:
    """Return the keys and revocations this server verifies with, re-read every few seconds."""
    store = keystore()
    now = time.monotonic()
    with _kept.lock:
        if _kept.trust is not None and _kept.store is store and now - _kept.read_at < TRUST_SECONDS:
            return _kept.trust
    trust = _read_store()
    with _kept.lock:
        _kept.store, _kept.read_at, _kept.trust = store, now, trust
    return trust


def forget_trust() -> None:
    """Drop this process's kept trust, so that the next verification reads the store."""
    with _kept.lock:
        _kept.store, _kept.read_at, _kept.trust = None, 0.0, None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _pem(certificate: x509.Certificate | None) -> str | None:
    if certificate is None:
        return None
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def public_bundle() -> dict[str, Any]:
    """Return every trusted public key and the revocation lists, as JSON for offline use."""
    store = keystore()
    trust = _read_store()
    keys = [
        {
            "purpose": key.purpose,
            "kid": key.kid,
            "public_key": key.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode("ascii"),
            "not_before": _iso(key.not_before),
            "not_after": _iso(key.not_after),
            "certificate": _pem(key.certificate),
            "issuer": key.issuer,
        }
        for key in trust.keys
    ]
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "issuer_url": settings.PUBLIC_URL,
        "generated_at": datetime.now(UTC).isoformat(),
        "keys": keys,
        "csca_certificate": _pem(store.csca_certificate()),
        "revoked_ids": sorted(trust.revoked_ids),
        "revoked_rids": {kid: sorted(rids) for kid, rids in sorted(trust.revoked_rids.items())},
    }


def _moment(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise BundleError(f"{what} is not an ISO date-time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key(entry: Any, csca: x509.Certificate | None) -> TrustedKey:
    if not isinstance(entry, dict):
        raise BundleError("a key is not an object")
    purpose, kid = entry.get("purpose"), entry.get("kid")
    if purpose not in FORMATS or not isinstance(kid, str) or not kid:
        raise BundleError(f"a key has no known purpose or no kid: {purpose!r} {kid!r}")
    try:
        public_key = serialization.load_pem_public_key(str(entry["public_key"]).encode())
        certificate = (
            x509.load_pem_x509_certificate(str(entry["certificate"]).encode())
            if entry.get("certificate")
            else None
        )
    except (KeyError, ValueError) as error:
        raise BundleError(f"key {kid}: unreadable PEM") from error
    if certificate is not None and csca is not None:
        # A document signer the country's CA did not sign is not the country's.
        try:
            certificate.verify_directly_issued_by(csca)
        except (ValueError, TypeError, InvalidSignature) as error:
            raise BundleError(f"key {kid}: certificate not issued by the CSCA") from error
    return TrustedKey(
        purpose=purpose,
        kid=kid,
        public_key=public_key,  # type: ignore[arg-type]
        not_before=_moment(entry.get("not_before"), "not_before"),
        not_after=_moment(entry.get("not_after"), "not_after"),
        certificate=certificate,
        issuer=str(entry.get("issuer") or ""),
    )


def trust_from_bundle(data: dict[str, Any]) -> Trust:
    """Return the trust a bundle made by `public_bundle()` holds; raise BundleError if broken."""
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise BundleError("not a vaxnet key bundle")
    if data.get("version") != BUNDLE_VERSION:
        raise BundleError(f"unsupported bundle version {data.get('version')!r}")
    csca = None
    if data.get("csca_certificate"):
        try:
            csca = x509.load_pem_x509_certificate(str(data["csca_certificate"]).encode())
        except ValueError as error:
            raise BundleError("unreadable CSCA certificate") from error
    keys = data.get("keys")
    revoked = data.get("revoked_ids", [])
    rids = data.get("revoked_rids", {})
    if not isinstance(keys, list) or not isinstance(revoked, list) or not isinstance(rids, dict):
        raise BundleError("keys, revoked_ids or revoked_rids has the wrong type")
    return Trust(
        keys=[_key(entry, csca) for entry in keys],
        revoked_ids={str(uvci) for uvci in revoked},
        revoked_rids={str(kid): {str(rid) for rid in values} for kid, values in rids.items()},
    )
