"""Keys and revocations published for offline verifiers, in each format's own form."""

import base64
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.test import Client

from vaxnet.booking.models import Session
from vaxnet.certificates.formats import shc
from vaxnet.certificates.keys import KeyStore
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.services import certificate_issue, certificate_sign
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch

from .conftest import give_dose

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_jwks_lists_the_health_card_keys_with_cors(
    client: Client, certificate_keys: KeyStore
) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == [certificate_keys.signing_key("shc").kid]
    assert {k["alg"] for k in keys} == {"ES256"}
    assert all("d" not in k for k in keys)  # never a private part


def test_the_did_document_names_the_credential_keys(
    client: Client, certificate_keys: KeyStore
) -> None:
    document = client.get("/.well-known/did.json").json()

    assert document["id"] == "did:web:vaccinate.test"
    kid = certificate_keys.signing_key("w3c_vc").kid
    assert kid.startswith("did:web:vaccinate.test#")
    assert [m["id"] for m in document["verificationMethod"]] == [kid]
    assert document["assertionMethod"] == [kid]


def test_the_dsc_list_chains_to_the_country_ca(client: Client, certificate_keys: KeyStore) -> None:
    listing = client.get("/.well-known/dcc/dsc.json").json()

    csca = x509.load_pem_x509_certificate(listing["csca"].encode())
    [entry] = listing["certificates"]
    dsc = x509.load_der_x509_certificate(base64.b64decode(entry["rawData"]))
    dsc.verify_directly_issued_by(csca)
    assert entry["kid"] == certificate_keys.signing_key("eu_dcc").kid
    assert entry["country"] == "TS"


def test_revocations_are_signed_and_list_revoked_certificates_only(
    client: Client,
    certificate_keys: KeyStore,
    asha: Beneficiary,
    today_session: Session,
    batch: Batch,
    vaccinator: User,
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)
    first = Certificate.objects.get(beneficiary=asha, status="valid")
    first = certificate_sign(first)
    certificate_issue(beneficiary_id=asha.pk, target="covid19", revoked_for="correction")
    current = Certificate.objects.get(beneficiary=asha, status="valid")

    token = client.get("/.well-known/vaxnet/revocations.jws").content.decode()

    header, payload, signature = token.split(".")
    assert json.loads(_b64url(header))["kid"] == certificate_keys.signing_key("shc").kid
    raw = _b64url(signature)
    public = certificate_keys.signing_key("shc").private_key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        f"{header}.{payload}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    content = json.loads(_b64url(payload))
    assert content["revoked"] == [first.uvci]
    assert current.uvci not in content["revoked"]

    kid = first.kids["shc"]
    crl = client.get(f"/.well-known/crl/{kid}.json").json()
    assert crl["rids"] == [shc.revocation_id(first.uvci, certificate_keys.rid_secret())]
    assert client.get("/.well-known/crl/unknown.json").status_code == 404
