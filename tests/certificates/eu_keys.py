"""Test keys for the EU DCC: a country signing CA, document signers, trust lists, QR reading."""

import io
import zlib
from datetime import UTC, datetime
from typing import Any

import base45
import cbor2
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID
from PIL import Image

from vaxnet.certificates.formats import eu_dcc
from vaxnet.certificates.formats.base import EU_DCC, SigningKey, Trust, TrustedKey
from vaxnet.certificates.keys import ca_key_usage, signer_key_usage

OID_DCC_TEST = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.1")
OID_DCC_VACCINATION = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")
OID_DCC_RECOVERY = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.3")


def make_csca(
    *, country: str = "IN", key: CertificateIssuerPrivateKeyTypes | None = None
) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    """Return a self-signed country signing CA key and certificate."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, "vaxnet test CSCA"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2035, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_key_usage(), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_dsc(
    csca: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
    *,
    not_before: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    not_after: datetime = datetime(2028, 1, 1, tzinfo=UTC),
    usages: tuple[x509.ObjectIdentifier, ...] = (OID_DCC_VACCINATION,),
    key: CertificateIssuerPrivateKeyTypes | None = None,
) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    """Return a document signer key and its certificate, issued by the CSCA."""
    csca_key, csca_certificate = csca
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "IN"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "vaxnet test DSC"),
                ]
            )
        )
        .issuer_name(csca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(signer_key_usage(), critical=True)
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    return key, builder.sign(csca_key, hashes.SHA256())


def eu_signing_key(
    dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> SigningKey:
    """Return the signing key of a DSC, with the EU kid."""
    key, certificate = dsc
    return SigningKey(
        purpose=EU_DCC, kid=eu_dcc.dsc_kid(certificate), private_key=key, certificate=certificate
    )


def eu_trust(*certificates: x509.Certificate, revoked: tuple[str, ...] = ()) -> Trust:
    """Return a trust list holding the DSCs."""
    return Trust(
        keys=[
            TrustedKey(
                purpose=EU_DCC,
                kid=eu_dcc.dsc_kid(certificate),
                public_key=certificate.public_key(),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                certificate=certificate,
                issuer="IN",
            )
            for certificate in certificates
        ],
        revoked_ids=set(revoked),
    )


def qr_text(text: str) -> str:
    """Return what a scanner reads from the QR code vaxnet prints for the text."""
    barcodes = zxingcpp.read_barcodes(Image.open(io.BytesIO(eu_dcc.qr(text).png())))
    assert len(barcodes) == 1
    return str(barcodes[0].text)


def cose_of(text: str) -> Any:
    """Return the decoded COSE message of an `HC1:` text."""
    return cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))


def hc1_of(message: Any) -> str:
    """Return the `HC1:` text of a CBOR item."""
    return "HC1:" + base45.b45encode(zlib.compress(cbor2.dumps(message), 9)).decode()
