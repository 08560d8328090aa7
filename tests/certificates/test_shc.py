"""SMART Health Cards made from vaxnet records: bundle, encoding, QR, and verification."""

import dataclasses
import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from vaxnet.certificates.formats import shc
from vaxnet.certificates.formats.base import (
    SHC,
    FormatError,
    Reason,
    SigningKey,
    Trust,
    TrustedKey,
    Verdict,
    b64url,
)
from vaxnet.certificates.record import CertificateRecord, DoseEntry

from .records import covishield_dose, sample_record

ISSUER_URL = "https://vaxnet.test"
ISSUED_AT = datetime(2022, 3, 1, 9, 30, tzinfo=UTC)


def dose(number: int, series: int, kind: str, given_on: date, lot: str) -> DoseEntry:
    """Return a COVISHIELD dose given at a district hospital."""
    return covishield_dose(
        number,
        given_on,
        series=series,
        kind=kind,
        vaccine_name="COVISHIELD",
        lot=lot,
        facility="जिला अस्पताल, सीतापुर",
        region="Sitapur",
        codes={"cvx": "210", "eu_mp": "Covishield", "icd11": "XM9QW8"},
    )


def make_record(**changes: Any) -> CertificateRecord:
    """Return a record of two primary doses and a precaution dose."""
    fields: dict[str, Any] = {
        "certificate_id": "URN:UVCI:01:IN:7F3K9Q2M4T8W#K",
        "kind": "booster",
        "version": 3,
        "issued_at": ISSUED_AT,
        "name": "सीता देवी",
        "name_latin": "SITA<DEVI",
        "birth_date": "1958-07-14",
        "issuer_url": ISSUER_URL,
    }
    return sample_record(
        dose(1, 2, "primary", date(2021, 5, 3), "4121Z025"),
        dose(2, 2, "primary", date(2021, 8, 2), "4121Z107"),
        dose(3, 3, "precaution", date(2022, 2, 14), "4122Z011"),
        **{**fields, **changes},
    )


def new_key() -> SigningKey:
    """Return a fresh P-256 signing key with its thumbprint as kid."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(
        purpose=SHC, kid=shc.jwk_thumbprint(private_key.public_key()), private_key=private_key
    )


def trust_for(key: SigningKey, **extra: Any) -> Trust:
    """Return a trust holding the key's public half, bound to our issuer URL."""
    private_key = key.private_key
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    return Trust(
        keys=[
            TrustedKey(
                purpose=SHC,
                kid=key.kid,
                public_key=private_key.public_key(),
                issuer=ISSUER_URL,
                **extra,
            )
        ]
    )


def test_it_builds_a_minimised_bundle() -> None:
    def immunization(on: str, lot: str) -> dict[str, Any]:
        return {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "210"}]},
            "patient": {"reference": "resource:0"},
            "occurrenceDateTime": on,
            "performer": [{"actor": {"display": "जिला अस्पताल, सीतापुर"}}],
            "lotNumber": lot,
        }

    assert shc.bundle(make_record()) == {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "resource:0",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "सीता देवी"}],
                    "birthDate": "1958-07-14",
                },
            },
            {"fullUrl": "resource:1", "resource": immunization("2021-05-03", "4121Z025")},
            {"fullUrl": "resource:2", "resource": immunization("2021-08-02", "4121Z107")},
            {"fullUrl": "resource:3", "resource": immunization("2022-02-14", "4122Z011")},
        ],
    }


def test_it_codes_a_dose_in_snomed_without_a_cvx_code() -> None:
    record = make_record()
    first = dataclasses.replace(record.doses[0], codes={"snomed": "1119305005"})
    entries = shc.bundle(make_record(doses=(first,)))["entry"]

    assert entries[1]["resource"]["vaccineCode"] == {
        "coding": [{"system": "http://snomed.info/sct", "code": "1119305005"}]
    }


def test_a_verifier_names_snomed_and_cvx_coded_doses() -> None:
    record = make_record()
    doses = (
        dataclasses.replace(record.doses[0], codes={"snomed": "1162643001"}),
        dataclasses.replace(record.doses[1], codes={"cvx": "04"}),
    )
    key = new_key()
    text = shc.encode(make_record(doses=doses), key)

    verdict = shc.verify(text, trust_for(key), at=ISSUED_AT + timedelta(days=1))

    assert verdict.summary is not None
    assert [d.vaccine for d in verdict.summary.doses] == [
        "SARS-CoV-2 recombinant spike protein antigen vaccine",
        "Measles and rubella (MR)",
    ]


def test_it_refuses_a_dose_without_a_cvx_or_snomed_code() -> None:
    first = dataclasses.replace(make_record().doses[0], codes={"eu_mp": "Covishield"})

    with pytest.raises(FormatError) as error:
        shc.bundle(make_record(doses=(first,)))

    assert error.value.reason == Reason.SCHEMA


def test_it_writes_the_payload_the_spec_asks_for() -> None:
    rid = shc.revocation_id("URN:UVCI:01:IN:7F3K9Q2M4T8W#K", b"s" * 32)
    text = shc.encode(make_record(), new_key(), rid=rid)

    content = shc.decode(text)

    assert content == {
        "iss": ISSUER_URL,
        "nbf": int(ISSUED_AT.timestamp()),
        "vc": {
            "type": [
                "https://smarthealth.cards#health-card",
                "https://smarthealth.cards#immunization",
                "https://smarthealth.cards#covid19",
            ],
            "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": shc.bundle(make_record())},
            "rid": rid,
        },
    }


def test_it_leaves_out_the_covid19_type_for_another_disease() -> None:
    content = shc.decode(shc.encode(make_record(target="measles"), new_key()))

    assert content["vc"]["type"] == [
        "https://smarthealth.cards#health-card",
        "https://smarthealth.cards#immunization",
    ]
    assert "rid" not in content["vc"]


def test_it_writes_the_header_and_signature_the_spec_asks_for() -> None:
    key = new_key()
    signed = shc.jws(make_record(), key)
    header, _, signature = signed.split(".")

    assert shc._b64decode(header) == (
        b'{"zip":"DEF","alg":"ES256","kid":"' + key.kid.encode() + b'"}'
    )
    assert len(shc._b64decode(signature)) == 64
    assert shc.encode(make_record(), key).startswith("shc:/")
    assert shc.numeric(signed) == "shc:/" + "".join(f"{ord(c) - 45:02d}" for c in signed)


def test_it_derives_the_revocation_id_from_the_certificate_id() -> None:
    rid = shc.revocation_id("URN:UVCI:01:IN:7F3K9Q2M4T8W#K", bytes(32))

    # base64url of 8 bytes: 11 characters, well under the spec's 24.
    assert len(rid) == 11
    assert rid == shc.revocation_id("URN:UVCI:01:IN:7F3K9Q2M4T8W#K", bytes(32))
    assert rid != shc.revocation_id("URN:UVCI:01:IN:7F3K9Q2M4T8W#K", bytes(31) + b"\1")
    assert rid != shc.revocation_id("URN:UVCI:01:IN:7F3K9Q2M4T8W#L", bytes(32))
    # Computed independently: the id through `openssl dgst -sha256 -mac HMAC` with a key of
    # 32 zero bytes, first 8 bytes, base64url without padding.
    assert rid == "ab5V30oYraQ"


def test_it_accepts_its_own_card_and_summarises_it() -> None:
    key = new_key()

    verdict = shc.verify(shc.encode(make_record(), key), trust_for(key), at=ISSUED_AT)

    assert (verdict.status, verdict.reason, verdict.kid) == (Verdict.VALID, "", key.kid)
    assert verdict.summary is not None
    assert verdict.summary.name == "सीता देवी"
    assert verdict.summary.birth_date == "1958-07-14"
    assert verdict.summary.issuer == ISSUER_URL
    assert verdict.summary.issued_at == ISSUED_AT
    assert [(d.vaccine, d.number, d.series, d.date) for d in verdict.summary.doses] == [
        ("AstraZeneca COVID-19 (ChAdOx1-S: Vaxzevria, Covishield)", 1, 0, "2021-05-03"),
        ("AstraZeneca COVID-19 (ChAdOx1-S: Vaxzevria, Covishield)", 2, 0, "2021-08-02"),
        ("AstraZeneca COVID-19 (ChAdOx1-S: Vaxzevria, Covishield)", 3, 0, "2022-02-14"),
    ]


def test_it_refuses_a_tampered_card() -> None:
    key = new_key()
    signed = shc.jws(make_record(), key)
    header, body, signature = signed.split(".")
    # Flip one character in the middle of the deflated payload.
    middle = len(body) // 2
    flipped = "A" if body[middle] != "A" else "B"
    tampered = f"{header}.{body[:middle]}{flipped}{body[middle + 1 :]}.{signature}"

    verdict = shc.verify(shc.numeric(tampered), trust_for(key), at=ISSUED_AT)

    assert verdict.status == Verdict.INVALID
    assert verdict.reason in (Reason.SIGNATURE, Reason.COMPRESSION, Reason.STRUCTURE)


def test_it_refuses_a_payload_resigned_by_another_key_under_our_kid() -> None:
    key = new_key()
    forger = dataclasses.replace(new_key(), kid=key.kid)

    verdict = shc.verify(shc.encode(make_record(), forger), trust_for(key), at=ISSUED_AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.SIGNATURE)


def test_it_refuses_an_unknown_key() -> None:
    verdict = shc.verify(shc.encode(make_record(), new_key()), trust_for(new_key()), at=ISSUED_AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.UNKNOWN_KEY)


def test_it_refuses_a_revoked_card() -> None:
    key = new_key()
    rid = shc.revocation_id(make_record().certificate_id, b"k" * 32)
    text = shc.encode(make_record(), key, rid=rid)
    trust = trust_for(key)

    assert shc.verify(text, trust, at=ISSUED_AT).status == Verdict.VALID
    trust.revoked_rids[key.kid] = {rid}
    verdict = shc.verify(text, trust, at=ISSUED_AT)
    assert (verdict.status, verdict.reason) == (Verdict.REVOKED, Reason.REVOKED)
    assert shc.crl(key.kid, [rid], 2) == {"kid": key.kid, "method": "rid", "ctr": 2, "rids": [rid]}


def test_it_revokes_only_cards_issued_before_a_crl_timestamp() -> None:
    key = new_key()
    rid = shc.revocation_id(make_record().certificate_id, b"k" * 32)
    text = shc.encode(make_record(), key, rid=rid)
    cutoff = int(ISSUED_AT.timestamp())
    trust = trust_for(key)

    trust.revoked_rids[key.kid] = {f"{rid}.{cutoff + 1}"}
    assert shc.verify(text, trust, at=ISSUED_AT).status == Verdict.REVOKED
    trust.revoked_rids[key.kid] = {f"{rid}.{cutoff}"}
    assert shc.verify(text, trust, at=ISSUED_AT).status == Verdict.VALID


def test_it_refuses_a_card_before_it_was_issued() -> None:
    key = new_key()

    verdict = shc.verify(
        shc.encode(make_record(), key), trust_for(key), at=ISSUED_AT - timedelta(seconds=1)
    )

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.NOT_YET_VALID)


def test_it_refuses_a_card_signed_outside_the_key_validity() -> None:
    key = new_key()
    trust = trust_for(key, not_before=ISSUED_AT + timedelta(days=1))

    verdict = shc.verify(shc.encode(make_record(), key), trust, at=ISSUED_AT + timedelta(days=2))

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.KEY_EXPIRED)


def test_it_refuses_a_card_too_large_for_one_qr_code() -> None:
    # Distinct facilities and lots, so that DEFLATE cannot fold the doses together.
    many = tuple(
        dataclasses.replace(
            make_record().doses[0],
            number=n,
            facility=f"Centre {hashlib.sha256(str(n).encode()).hexdigest()[:12]}",
            lot=hashlib.sha256(str(-n).encode()).hexdigest()[:8],
        )
        for n in range(1, 21)
    )

    with pytest.raises(FormatError) as error:
        shc.encode(make_record(doses=many), new_key())

    assert error.value.reason == Reason.STRUCTURE


def test_it_fits_the_card_in_one_qr_code_that_reads_back_exactly() -> None:
    text = shc.encode(make_record(), new_key(), rid="AAAAAAAAAAA")

    code = shc.qr(text)
    barcode = zxingcpp.read_barcode(Image.open(io.BytesIO(code.png())))

    assert code.version <= 22
    assert code.error == "L"
    assert barcode is not None
    assert barcode.text == text


# A header with zip DEF over bytes that are no DEFLATE stream.
NOT_DEFLATED = b64url(b'{"zip":"DEF"}') + "." + b64url(b"\xff" * 9) + "."
HEADER_NOT_AN_OBJECT = b64url(b"[1]") + ".AA.AA"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("shc:12", Reason.PREFIX),
        ("shc:/123", Reason.ENCODING),
        ("shc:/7899", Reason.ENCODING),
        ("shc:/12ab", Reason.ENCODING),
        ("a.b!.c", Reason.ENCODING),
        ("a.b", Reason.STRUCTURE),
        ("{}", Reason.STRUCTURE),
        ('{"verifiableCredential": []}', Reason.STRUCTURE),
        (NOT_DEFLATED, Reason.COMPRESSION),
        (HEADER_NOT_AN_OBJECT, Reason.STRUCTURE),
        ("shc:/1/2/5676\nshc:/1/2/5676", Reason.STRUCTURE),
    ],
)
def test_it_refuses_to_decode_broken_text(text: str, reason: str) -> None:
    with pytest.raises(FormatError) as error:
        shc.decode(text)

    assert error.value.reason == reason


@pytest.mark.parametrize("text", ["", " ", "shc:/", "HC1:6BF", "{", "...", "shc:/1/0/56"])
def test_it_never_raises_when_verifying_junk(text: str) -> None:
    verdict = shc.verify(text, Trust(), at=ISSUED_AT)

    assert verdict.status == Verdict.INVALID
    assert verdict.format == SHC
    assert verdict.reason in (
        Reason.PREFIX,
        Reason.ENCODING,
        Reason.STRUCTURE,
        Reason.COMPRESSION,
    )
