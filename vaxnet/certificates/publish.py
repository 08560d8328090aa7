"""What offline verifiers download: public keys in each format's own form, and revocations.

- `/.well-known/jwks.json`: the SMART Health Card keys (the `iss` of every card is our public
  URL, so verifiers look here);
- `/.well-known/did.json`: the did:web document naming the W3C credentials' Ed25519 keys;
- `/.well-known/dcc/dsc.json`: the EU DCC document signer certificates with the country CA;
- `/.well-known/crl/<kid>.json`: the SMART Health Card revocation list of one key;
- `/.well-known/vaxnet/revocations.jws`: every revoked certificate id, signed (ES256, with the
  current SMART Health Card key, so the JWK set above verifies it).
"""

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.conf import settings

from vaxnet.certificates.formats import shc
from vaxnet.certificates.formats.base import (
    EU_DCC,
    SHC,
    W3C_VC,
    SigningKey,
    b64url,
    es256_sign,
)
from vaxnet.certificates.keys import base58, issuer_did, keystore
from vaxnet.certificates.queries import revoked_ids, revoked_rids


def jwks() -> dict[str, Any]:
    """Return the JWK set of every SMART Health Card key, active and retired."""
    return {
        "keys": [
            shc.public_jwk(key.public_key, key.kid)  # type: ignore[arg-type]
            for key in keystore().trusted_keys()
            if key.purpose == SHC
        ]
    }


def did_document() -> dict[str, Any]:
    """Return the DID document of the W3C credentials' issuer."""
    did = issuer_did()
    methods = []
    for key in keystore().trusted_keys():
        if key.purpose != W3C_VC or not isinstance(key.public_key, ed25519.Ed25519PublicKey):
            continue
        raw = key.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        methods.append(
            {
                "id": key.kid,
                "type": "Ed25519VerificationKey2018",
                "controller": did,
                "publicKeyBase58": base58(raw),
            }
        )
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def _pem(certificate: Any) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def dsc_list() -> dict[str, Any]:
    """Return the EU DCC document signer certificates, with the country CA that signed them."""
    store = keystore()
    csca = store.csca_certificate()
    signers = []
    for key in store.trusted_keys():
        if key.purpose != EU_DCC or key.certificate is None:
            continue
        der = key.certificate.public_bytes(serialization.Encoding.DER)
        signers.append(
            {
                "kid": key.kid,
                "country": key.issuer,
                "certificateType": "DSC",
                "rawData": base64.b64encode(der).decode(),
                "thumbprint": hashlib.sha256(der).hexdigest(),
                "notBefore": key.certificate.not_valid_before_utc.isoformat(),
                "notAfter": key.certificate.not_valid_after_utc.isoformat(),
            }
        )
    return {"csca": _pem(csca) if csca else "", "certificates": signers}


def shc_crl(kid: str) -> dict[str, Any] | None:
    """Return the revocation list of one SMART Health Card key, or None for an unknown kid."""
    store = keystore()
    if not any(k.purpose == SHC and k.kid == kid for k in store.trusted_keys()):
        return None
    rids = revoked_rids(store.rid_secret(), kid=kid).get(kid, [])
    # The counter goes up whenever the list grows; a list only ever grows.
    return shc.crl(kid, rids, ctr=len(rids) + 1)


def _jws(content: dict[str, Any], key: SigningKey) -> str:
    """Return a compact ES256 JWS of JSON content."""
    header = {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(content, separators=(",", ":")).encode())
    )
    private = key.private_key
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise TypeError("the revocation list is signed with a P-256 key")
    return signing_input + "." + b64url(es256_sign(private, signing_input.encode()))


def revocation_list(now: datetime | None = None) -> str:
    """Return the signed list of every revoked certificate id."""
    revoked = revoked_ids()
    now = now or datetime.now(UTC)
    content = {"iss": settings.PUBLIC_URL, "iat": int(now.timestamp()), "revoked": revoked}
    return _jws(content, keystore().signing_key(SHC))
