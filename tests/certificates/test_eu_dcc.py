"""EU DCC: payload, schema, value sets, signing and verification with our own keys."""

import base64
import json
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
import segno
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from jsonschema import Draft202012Validator

from vaxnet.certificates.formats import eu_dcc
from vaxnet.certificates.formats.base import (
    EU_DCC,
    DoseSummary,
    FormatError,
    Reason,
    Summary,
    Trust,
    TrustedKey,
    Verdict,
)
from vaxnet.certificates.record import CertificateRecord, DoseEntry

from .eu_keys import (
    OID_DCC_RECOVERY,
    OID_DCC_TEST,
    OID_DCC_VACCINATION,
    cose_of,
    eu_signing_key,
    eu_trust,
    hc1_of,
    make_csca,
    make_dsc,
    qr_text,
)
from .records import covishield_dose, sample_record

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
EU = VECTORS / "eu-dcc"

ISSUED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
EXPIRES_AT = ISSUED_AT + timedelta(days=365)
CHECKED_AT = ISSUED_AT + timedelta(days=30)
UVCI = "URN:UVCI:01:IN:7XK2M9QW4RT8#Q"

COVISHIELD_CODES = {
    "eu_tg": "840539006",
    "eu_vp": "J07BX03",
    "eu_mp": "Covishield",
    "eu_ma": "ORG-100001981",
}


def make_dose(number: int, series: int, given_on: date, **changes: Any) -> DoseEntry:
    """Return a COVISHIELD dose given in India."""
    fields: dict[str, Any] = {
        "series": series,
        "lot": "4121Z025",
        "facility": "PHC Kothrud",
        "region": "Pune",
        "codes": dict(COVISHIELD_CODES),
    }
    return covishield_dose(number, given_on, **{**fields, **changes})


def make_record(*doses: DoseEntry, **changes: Any) -> CertificateRecord:
    """Return a final certificate record for two COVISHIELD doses (or the doses given)."""
    fields: dict[str, Any] = {
        "certificate_id": UVCI,
        "issued_at": ISSUED_AT,
        "name": "रमेश कुमार",
        "name_latin": "RAMESH<KUMAR",
        "birth_date": "1985-07-12",
        "sex": "male",
        "issuer": "Ministry of Health and Family Welfare, Government of India",
        "issuer_url": "https://vaxnet.example.in",
    }
    default = (make_dose(1, 2, date(2026, 1, 5)), make_dose(2, 2, date(2026, 2, 20)))
    return sample_record(*(doses or default), **{**fields, **changes})


@pytest.fixture(scope="module")
def csca() -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    """Return the country signing CA of these tests."""
    return make_csca()


@pytest.fixture(scope="module")
def dsc(
    csca: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    """Return a DSC that may sign vaccination certificates."""
    return make_dsc(csca)


@pytest.fixture(scope="module")
def hc1(dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]) -> str:
    """Return the HC1 text of the two-dose record."""
    return eu_dcc.encode(make_record(), eu_signing_key(dsc), expires_at=EXPIRES_AT)


# --- Payload ---


def test_it_supports_only_doses_with_eu_codes() -> None:
    assert eu_dcc.supports(make_record())
    no_mp = {k: v for k, v in COVISHIELD_CODES.items() if k != "eu_mp"}
    assert not eu_dcc.supports(make_record(make_dose(1, 1, date(2026, 1, 5), codes=no_mp)))
    # Only the last dose counts.
    last_uncoded = make_dose(2, 2, date(2026, 2, 20), codes={"cvx": "210"})
    assert not eu_dcc.supports(make_record(make_dose(1, 2, date(2026, 1, 5)), last_uncoded))
    assert not eu_dcc.supports(make_record(doses=()))


def test_it_builds_the_cwt_claims_for_the_last_dose() -> None:
    claims = eu_dcc.payload(make_record(), expires_at=EXPIRES_AT)

    assert claims == {
        1: "IN",
        4: int(EXPIRES_AT.timestamp()),
        6: int(ISSUED_AT.timestamp()),
        -260: {
            1: {
                "ver": "1.3.0",
                "nam": {"fn": "रमेश कुमार", "fnt": "RAMESH<KUMAR"},
                "dob": "1985-07-12",
                "v": [
                    {
                        "tg": "840539006",
                        "vp": "J07BX03",
                        "mp": "Covishield",
                        "ma": "ORG-100001981",
                        "dn": 2,
                        "sd": 2,
                        "dt": "2026-02-20",
                        "co": "IN",
                        "is": "Ministry of Health and Family Welfare, Government of India",
                        "ci": UVCI,
                    }
                ],
            }
        },
    }


def test_it_writes_a_booster_as_n_of_n_and_cuts_the_issuer_to_80() -> None:
    booster = make_dose(3, 2, date(2026, 2, 20), kind="booster")
    record = make_record(booster, issuer="I" * 100)

    entry = eu_dcc.payload(record, expires_at=EXPIRES_AT)[-260][1]["v"][0]

    assert (entry["dn"], entry["sd"]) == (3, 3)
    assert entry["is"] == "I" * 80


def test_it_refuses_a_payload_without_eu_codes() -> None:
    record = make_record(make_dose(1, 1, date(2026, 1, 5), codes={}))
    with pytest.raises(ValueError, match="EU DCC"):
        eu_dcc.payload(record, expires_at=EXPIRES_AT)


def test_it_computes_the_eu_kid(
    dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> None:
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding

    der = dsc[1].public_bytes(Encoding.DER)
    kid = eu_dcc.dsc_kid(dsc[1])

    assert base64.b64decode(kid) == hashlib.sha256(der).digest()[:8]
    assert len(kid) == 12 and kid.endswith("=")


# --- Schema and value sets ---


def schema_validator() -> Draft202012Validator:
    """Return a validator of the combined DCC schema that also checks formats (dates)."""
    schema = json.loads((EU / "schema-examples" / "DCC.combined-schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_example(name: str) -> Any:
    """Return one of the schema repository's examples."""
    return json.loads((EU / "schema-examples" / name).read_text())


def test_it_follows_the_dcc_schema() -> None:
    hcert = eu_dcc.payload(make_record(), expires_at=EXPIRES_AT)[-260][1]

    errors = [error.message for error in schema_validator().iter_errors(hcert)]

    assert errors == []


@pytest.mark.parametrize(
    "name",
    [
        "examples_vaccination_simple.json",
        "examples_vaccination_standard_case_2-of-2-moderna-moderna.json",
        "examples_vaccination_transliterated.json",
        "test_valid_V-min-data.json",
    ],
)
def test_it_uses_a_schema_that_accepts_the_valid_examples(name: str) -> None:
    assert list(schema_validator().iter_errors(schema_example(name))) == []


@pytest.mark.parametrize(
    "name",
    [
        "test_invalid_invalid_dob.json",
        "test_invalid_invalid_vac.json",
        "test_invalid_missing_fnt_gnt.json",
    ],
)
def test_it_uses_a_schema_that_rejects_the_invalid_examples(name: str) -> None:
    assert list(schema_validator().iter_errors(schema_example(name))) != []


@pytest.mark.parametrize(
    ("field", "value_set"),
    [
        ("tg", "disease-agent-targeted.json"),
        ("vp", "vaccine-prophylaxis.json"),
        ("mp", "vaccine-medicinal-product.json"),
        ("ma", "vaccine-mah-manf.json"),
        ("co", "country-2-codes.json"),
    ],
)
def test_it_uses_codes_from_the_eu_value_sets(field: str, value_set: str) -> None:
    values = json.loads((EU / "valuesets" / value_set).read_text())["valueSetValues"]
    entry = eu_dcc.payload(make_record(), expires_at=EXPIRES_AT)[-260][1]["v"][0]

    assert entry[field] in values


# --- Round trip ---


def test_it_signs_and_verifies_a_two_dose_certificate(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    verdict = eu_dcc.verify(hc1, eu_trust(dsc[1]), at=CHECKED_AT)

    assert verdict == Verdict(
        status=Verdict.VALID,
        format=EU_DCC,
        kid=eu_dcc.dsc_kid(dsc[1]),
        summary=Summary(
            name="रमेश कुमार",
            birth_date="1985-07-12",
            doses=(
                DoseSummary(
                    vaccine="Covishield", number=2, series=2, date="2026-02-20", country="IN"
                ),
            ),
            certificate_id=UVCI,
            issuer="Ministry of Health and Family Welfare, Government of India",
            issued_at=ISSUED_AT,
            expires_at=EXPIRES_AT,
        ),
    )


def test_it_writes_the_cose_message_the_eu_way(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    message = cose_of(hc1)

    assert hc1.startswith("HC1:")
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, body, signature = message.value
    assert cbor2.loads(protected) == {1: -7, 4: base64.b64decode(eu_dcc.dsc_kid(dsc[1]))}
    assert dict(unprotected) == {}
    assert len(signature) == 64
    assert eu_dcc.decode(hc1) == eu_dcc.payload(make_record(), expires_at=EXPIRES_AT)
    assert cbor2.loads(body)[-260][1]["v"][0]["ci"] == UVCI


def test_it_fits_a_two_dose_certificate_in_a_qr_code(hc1: str) -> None:
    # Measured 570-574 characters (the Devanagari name costs 3 bytes a letter, the 64-byte
    # signature compresses a little differently each time): a version 18 QR code at level Q.
    assert 560 <= len(hc1) <= 590
    version = segno.make(hc1, error="q", mode="alphanumeric").version
    assert isinstance(version, int) and version <= 18
    assert qr_text(hc1) == hc1


def test_it_verifies_an_rsa_pss_certificate(
    csca: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> None:
    rsa_dsc = make_dsc(csca, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    text = eu_dcc.encode(make_record(), eu_signing_key(rsa_dsc), expires_at=EXPIRES_AT)

    verdict = eu_dcc.verify(text, eu_trust(rsa_dsc[1]), at=CHECKED_AT)

    protected, _, body, signature = cose_of(text).value
    public_key = rsa_dsc[1].public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    # RFC 8230: PS256 salts with as many bytes as the hash; verifying with exactly 32 proves it.
    public_key.verify(
        signature,
        cbor2.dumps(["Signature1", protected, b"", body]),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    assert cbor2.loads(protected)[1] == -37
    assert (verdict.status, verdict.reason) == (Verdict.VALID, "")


def test_it_signs_only_with_p256_or_rsa_keys(
    csca: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> None:
    p384 = make_dsc(csca, key=ec.generate_private_key(ec.SECP384R1()))

    with pytest.raises(ValueError, match="P-256"):
        eu_dcc.encode(make_record(), eu_signing_key(p384), expires_at=EXPIRES_AT)


def test_it_accepts_the_cose_message_untagged_or_double_tagged(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    message = cose_of(hc1)
    trust = eu_trust(dsc[1])

    untagged = eu_dcc.verify(hc1_of(message.value), trust, at=CHECKED_AT)
    double = eu_dcc.verify(hc1_of(cbor2.CBORTag(61, message)), trust, at=CHECKED_AT)
    other_tag = eu_dcc.verify(hc1_of(cbor2.CBORTag(98, message.value)), trust, at=CHECKED_AT)
    cwt_only = eu_dcc.verify(hc1_of(cbor2.CBORTag(61, message.value)), trust, at=CHECKED_AT)

    assert (untagged.status, double.status) == (Verdict.VALID, Verdict.VALID)
    assert (other_tag.reason, cwt_only.reason) == (Reason.STRUCTURE, Reason.STRUCTURE)


def test_it_refuses_bytes_after_the_cose_message(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    raw = zlib.decompress(base45.b45decode(hc1[4:]))
    padded = "HC1:" + base45.b45encode(zlib.compress(raw + b"\x00", 9)).decode()

    verdict = eu_dcc.verify(padded, eu_trust(dsc[1]), at=CHECKED_AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.STRUCTURE)


def test_it_takes_the_kid_from_the_unprotected_header_only_when_protected_has_none(
    dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> None:
    key, certificate = dsc
    kid = base64.b64decode(eu_dcc.dsc_kid(certificate))
    body = cbor2.dumps(eu_dcc.payload(make_record(), expires_at=EXPIRES_AT))

    def signed(protected_map: dict[int, Any], unprotected: dict[int, Any]) -> str:
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        protected = cbor2.dumps(protected_map)
        to_sign = cbor2.dumps(["Signature1", protected, b"", body])
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return hc1_of(cbor2.CBORTag(18, [protected, unprotected, body, sig]))

    trust = eu_trust(certificate)
    only_unprotected = eu_dcc.verify(signed({1: -7}, {4: kid}), trust, at=CHECKED_AT)
    wrong_protected = eu_dcc.verify(signed({1: -7, 4: b"foo"}, {4: kid}), trust, at=CHECKED_AT)

    assert only_unprotected.status == Verdict.VALID
    assert wrong_protected.reason == Reason.UNKNOWN_KEY


# --- Refusals ---


def test_it_refuses_a_tampered_text(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    middle = len(hc1) // 2
    replacement = "A" if hc1[middle] != "A" else "B"
    tampered = hc1[:middle] + replacement + hc1[middle + 1 :]

    verdict = eu_dcc.verify(tampered, eu_trust(dsc[1]), at=CHECKED_AT)

    assert verdict.status == Verdict.INVALID
    assert verdict.reason in {
        Reason.ENCODING,
        Reason.COMPRESSION,
        Reason.STRUCTURE,
        Reason.SIGNATURE,
    }


def test_it_refuses_a_changed_payload_with_the_old_signature(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    message = cose_of(hc1)
    protected, unprotected, body, signature = message.value
    claims = cbor2.loads(body)
    claims[-260][1]["v"][0]["dn"] = 3
    forged = hc1_of(cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(claims), signature]))

    verdict = eu_dcc.verify(forged, eu_trust(dsc[1]), at=CHECKED_AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.SIGNATURE)


def test_it_refuses_an_unknown_key(hc1: str) -> None:
    verdict = eu_dcc.verify(hc1, Trust(), at=CHECKED_AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.UNKNOWN_KEY)


def test_it_refuses_a_key_of_another_format(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    trust = Trust(
        keys=[TrustedKey(purpose="shc", kid=eu_dcc.dsc_kid(dsc[1]), public_key=dsc[1].public_key())]
    )

    assert eu_dcc.verify(hc1, trust, at=CHECKED_AT).reason == Reason.UNKNOWN_KEY


def test_it_reports_a_revoked_certificate(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    verdict = eu_dcc.verify(hc1, eu_trust(dsc[1], revoked=(UVCI,)), at=CHECKED_AT)

    assert (verdict.status, verdict.reason) == (Verdict.REVOKED, Reason.REVOKED)
    assert verdict.summary is not None and verdict.summary.certificate_id == UVCI


def test_it_refuses_an_expired_certificate(
    hc1: str, dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]
) -> None:
    trust = eu_trust(dsc[1])

    at_expiry = eu_dcc.verify(hc1, trust, at=EXPIRES_AT)
    before_issue = eu_dcc.verify(hc1, trust, at=ISSUED_AT - timedelta(seconds=1))
    at_issue = eu_dcc.verify(hc1, trust, at=ISSUED_AT)

    assert (at_expiry.status, at_expiry.reason) == (Verdict.INVALID, Reason.EXPIRED)
    assert before_issue.reason == Reason.NOT_YET_VALID
    assert at_issue.status == Verdict.VALID


def test_it_refuses_a_certificate_issued_outside_the_dsc_validity(
    csca: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> None:
    expired = make_dsc(
        csca,
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=datetime(2026, 2, 1, tzinfo=UTC),
    )
    future = make_dsc(csca, not_before=datetime(2026, 6, 1, tzinfo=UTC))
    record = make_record()

    for dsc in (expired, future):
        text = eu_dcc.encode(record, eu_signing_key(dsc), expires_at=EXPIRES_AT)
        verdict = eu_dcc.verify(text, eu_trust(dsc[1]), at=CHECKED_AT)
        assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.KEY_EXPIRED)


@pytest.mark.parametrize(
    ("usages", "reason"),
    [
        ((OID_DCC_TEST,), Reason.KEY_USAGE),
        ((OID_DCC_TEST, OID_DCC_RECOVERY), Reason.KEY_USAGE),
        ((x509.ObjectIdentifier("1.3.6.1.4.1.0.1847.2021.1.1"),), Reason.KEY_USAGE),
        ((x509.ObjectIdentifier("1.3.6.1.4.1.0.1847.2021.1.2"),), ""),
        ((OID_DCC_TEST, OID_DCC_VACCINATION), ""),
        # A DSC without DCC usages may sign any kind.
        ((x509.ObjectIdentifier("1.3.6.1.5.5.7.3.4"),), ""),
        ((), ""),
    ],
)
def test_it_checks_the_dsc_key_usage(
    csca: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
    usages: tuple[x509.ObjectIdentifier, ...],
    reason: str,
) -> None:
    dsc = make_dsc(csca, usages=usages)
    text = eu_dcc.encode(make_record(), eu_signing_key(dsc), expires_at=EXPIRES_AT)

    assert eu_dcc.verify(text, eu_trust(dsc[1]), at=CHECKED_AT).reason == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Reason.PREFIX),
        ("HC2:6BFOXN*TS0BI$ZD", Reason.PREFIX),
        ("hc1:6BFOXN*TS0BI$ZD", Reason.PREFIX),
        ("HC1:abc", Reason.ENCODING),
        ("HC1:", Reason.COMPRESSION),
        ("HC1:" + base45.b45encode(cbor2.dumps([1, 2, 3, 4])).decode(), Reason.COMPRESSION),
        ("HC1:" + base45.b45encode(zlib.compress(b"\xff")).decode(), Reason.STRUCTURE),
        ("HC1:" + base45.b45encode(zlib.compress(b"\x01\x02")).decode(), Reason.STRUCTURE),
        (hc1_of(cbor2.CBORTag(18, [b"", {}, b"\xa0", b""])), Reason.STRUCTURE),
        (hc1_of(cbor2.CBORTag(18, [b"", {}, cbor2.dumps({1: "IN"}), b""])), Reason.STRUCTURE),
        (hc1_of(cbor2.CBORTag(18, [b"", {}, b"\xa0"])), Reason.STRUCTURE),
    ],
    ids=[
        "empty",
        "hc2",
        "lowercase",
        "bad-base45",
        "no-zlib-stream",
        "uncompressed",
        "broken-cbor",
        "trailing-cbor",
        "no-hcert",
        "no-hcert-claim",
        "three-items",
    ],
)
def test_it_refuses_broken_texts_with_a_reason(text: str, reason: str) -> None:
    verdict = eu_dcc.verify(text, Trust(), at=CHECKED_AT)
    with pytest.raises(FormatError) as raised:
        eu_dcc.decode(text)

    assert (verdict.status, verdict.format, verdict.reason) == (Verdict.INVALID, EU_DCC, reason)
    assert raised.value.reason == reason


def test_it_refuses_a_zlib_bomb() -> None:
    bomb = "HC1:" + base45.b45encode(zlib.compress(b"\x00" * 10_000_000, 9)).decode()

    assert eu_dcc.verify(bomb, Trust(), at=CHECKED_AT).reason == Reason.COMPRESSION


def test_it_refuses_a_payload_without_the_fields_a_verifier_shows(
    dsc: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate],
) -> None:
    key, certificate = dsc
    trust = eu_trust(certificate)
    claims = eu_dcc.payload(make_record(), expires_at=EXPIRES_AT)

    def resigned(change: Any) -> str:
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        changed = json.loads(json.dumps(claims[-260][1]))
        change(changed)
        body = cbor2.dumps({**claims, -260: {1: changed}})
        protected = cbor2.dumps({1: -7, 4: base64.b64decode(eu_dcc.dsc_kid(certificate))})
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        der = key.sign(cbor2.dumps(["Signature1", protected, b"", body]), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return hc1_of(cbor2.CBORTag(18, [protected, {}, body, sig]))

    changes = [
        lambda h: h["nam"].pop("fnt"),
        lambda h: h["nam"].update(fnt=""),
        lambda h: h.pop("dob"),
        lambda h: h.update(t=h["v"]),
        lambda h: h.update(v=[]),
        lambda h: h["v"].append(h["v"][0]),
        lambda h: h["v"][0].pop("sd"),
        lambda h: h["v"][0].update(dn="2"),
    ]
    reasons = [eu_dcc.verify(resigned(change), trust, at=CHECKED_AT).reason for change in changes]

    # A test entry beside the vaccination is caught first by the DSC's key usage.
    assert reasons == [Reason.SCHEMA] * 3 + [Reason.KEY_USAGE] + [Reason.SCHEMA] * 4
    assert eu_dcc.verify(resigned(lambda h: None), trust, at=CHECKED_AT).valid
