"""The DIVOC / CoWIN W3C Verifiable Credential: public vectors, round trips, refusals."""

import base64
import io
import json
import socket
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from PIL import Image

from vaxnet.certificates.formats import w3c_vc
from vaxnet.certificates.formats.base import (
    W3C_VC,
    DoseSummary,
    FormatError,
    Reason,
    SigningKey,
    Summary,
    Trust,
    TrustedKey,
    Verdict,
)
from vaxnet.certificates.record import DoseEntry

from .records import covishield_dose, sample_record

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
DIVOC = VECTORS / "divoc"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
KEY_URL = "did:web:vaccinate.test#key-1"


def vector(name: str) -> str:
    """Return the text form of a DIVOC vector."""
    return (DIVOC / f"{name}Contents.txt").read_text()


def trusted(pem: str, kid: str, **kw: Any) -> TrustedKey:
    """Return a trusted key from one of the vectors' PEM files."""
    public = serialization.load_pem_public_key((DIVOC / "keys" / pem).read_bytes())
    return TrustedKey(purpose=W3C_VC, kid=kid, public_key=public, **kw)  # type: ignore[arg-type]


def dose(number: int, given_on: date) -> DoseEntry:
    """Return one Covishield dose of a two-dose series."""
    return covishield_dose(number, given_on, lot=f"4121Z{number:03d}", facility="Hill Town PHC")


RECORD = sample_record(
    dose(1, date(2024, 1, 2)),
    dose(2, date(2024, 2, 9)),
    certificate_id="URN:UVCI:01:IN:7QX2M9KD4RT1#P",
    issued_at=datetime(2024, 3, 5, 10, 0, 7, 250000, tzinfo=UTC),
    name="अनीता शर्मा",
    name_latin="ANITA<SHARMA",
    birth_date="1980-06-01",
    issuer="Ministry of Health",
    issuer_url="https://vaccinate.test",
)

EXPECTED_SUMMARY = Summary(
    name="अनीता शर्मा",
    birth_date="",
    doses=(
        DoseSummary(vaccine="Covishield", number=1, series=2, date="2024-01-02", country="IN"),
        DoseSummary(vaccine="Covishield", number=2, series=2, date="2024-02-09", country="IN"),
    ),
    certificate_id="URN:UVCI:01:IN:7QX2M9KD4RT1#P",
    issuer="https://vaccinate.test/",
    issued_at=datetime(2024, 3, 5, 10, 0, 7, 250000, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    """Return a fresh Ed25519 key for this module's round trips."""
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def signing_key(ed_key: ed25519.Ed25519PrivateKey) -> SigningKey:
    """Return the signing key wrapping the fresh Ed25519 key."""
    return SigningKey(purpose=W3C_VC, kid="key-1", private_key=ed_key, key_id_url=KEY_URL)


@pytest.fixture(scope="module")
def trust(ed_key: ed25519.Ed25519PrivateKey) -> Trust:
    """Return a trust list holding the fresh key's public half."""
    return Trust(keys=[TrustedKey(purpose=W3C_VC, kid=KEY_URL, public_key=ed_key.public_key())])


@pytest.fixture(scope="module")
def signed(signing_key: SigningKey) -> str:
    """Return the signed credential of the two-dose record."""
    return w3c_vc.encode(RECORD, signing_key)


def test_it_decodes_qr1_to_the_unpacked_vector() -> None:
    expected = json.loads((DIVOC / "DIVOCQR1Unpacked.json").read_text())
    assert w3c_vc.decode(vector("DIVOCQR1")) == expected
    raw = base64.b64decode(vector("DIVOCQR1").strip()[4:])
    assert w3c_vc.decode(raw) == expected


def test_it_verifies_cowin_qr1_with_the_india_key() -> None:
    verdict = w3c_vc.verify(
        vector("DIVOCQR1"), Trust(keys=[trusted("did_india.pem", "did:india")]), at=NOW
    )
    assert verdict == Verdict(
        status=Verdict.VALID,
        format=W3C_VC,
        kid="did:india",
        summary=Summary(
            name="Third March User One",
            birth_date="",
            doses=(
                DoseSummary(
                    vaccine="COVISHIELD", number=1, series=2, date="2021-03-03", country="IN"
                ),
            ),
            certificate_id="92047670169",
            issuer="https://cowin.gov.in/",
            issued_at=datetime(2021, 3, 3, 4, 28, 46, 12000, tzinfo=UTC),
        ),
    )


def test_it_verifies_indonesia_with_its_ed25519_key() -> None:
    kid = w3c_vc.decode(vector("DIVOCIndonesia"))["proof"]["verificationMethod"]
    assert kid == "did:indonesia"
    trust = Trust(keys=[trusted("did_indonesia.pem", kid)])
    verdict = w3c_vc.verify(vector("DIVOCIndonesia"), trust, at=NOW)
    assert verdict.status == Verdict.VALID, verdict
    assert verdict.summary is not None
    assert verdict.summary.name == "PAULUS WISNU ADITYA BASWORO"
    assert verdict.summary.birth_date == "1988-05-15"
    assert verdict.summary.doses == (
        DoseSummary(
            vaccine="COVID-19 Vaccine Pfizer", number=3, series=3, date="2022-03-05", country="IDN"
        ),
    )
    assert verdict.summary.certificate_id == "531487494"


def test_it_decodes_jamaica_but_does_not_accept_it() -> None:
    document = w3c_vc.decode(vector("DIVOCJamaica"))
    assert document["credentialSubject"]["name"] == "test user"
    assert document["evidence"][0]["certificateId"] == "891244125"
    kid = document["proof"]["verificationMethod"]
    verdict = w3c_vc.verify(
        vector("DIVOCJamaica"), Trust(keys=[trusted("did_jamaica.pem", kid)]), at=NOW
    )
    assert verdict.status == Verdict.INVALID
    assert verdict.reason == Reason.SIGNATURE


def test_it_refuses_a_tampered_name() -> None:
    document = w3c_vc.decode(vector("DIVOCQR1"))
    document["credentialSubject"]["name"] = "Third March User Two"
    trust = Trust(keys=[trusted("did_india.pem", "did:india")])
    verdict = w3c_vc.verify(json.dumps(document), trust, at=NOW)
    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.SIGNATURE)
    # The same credential untouched, as JSON text, is accepted: the refusal is the tampering.
    document["credentialSubject"]["name"] = "Third March User One"
    assert w3c_vc.verify(json.dumps(document), trust, at=NOW).status == Verdict.VALID


def test_it_refuses_a_tampered_dose_number() -> None:
    document = w3c_vc.decode(vector("DIVOCQR1"))
    document["evidence"][0]["dose"] = 3
    trust = Trust(keys=[trusted("did_india.pem", "did:india")])
    assert w3c_vc.verify(json.dumps(document), trust, at=NOW).reason == Reason.SIGNATURE


def test_it_refuses_an_unknown_key() -> None:
    trust = Trust(keys=[trusted("did_india.pem", "did:somewhere-else")])
    verdict = w3c_vc.verify(vector("DIVOCQR1"), trust, at=NOW)
    assert (verdict.status, verdict.reason, verdict.kid) == (
        Verdict.INVALID,
        Reason.UNKNOWN_KEY,
        "did:india",
    )


def test_it_refuses_a_key_of_the_wrong_kind() -> None:
    trust = Trust(keys=[trusted("did_indonesia.pem", "did:india")])
    assert w3c_vc.verify(vector("DIVOCQR1"), trust, at=NOW).reason == Reason.SIGNATURE


def test_it_refuses_a_key_outside_its_window() -> None:
    late = trusted("did_india.pem", "did:india", not_before=datetime(2021, 3, 4, tzinfo=UTC))
    early = trusted("did_india.pem", "did:india", not_after=datetime(2021, 3, 3, tzinfo=UTC))
    for key in (late, early):
        verdict = w3c_vc.verify(vector("DIVOCQR1"), Trust(keys=[key]), at=NOW)
        assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.KEY_EXPIRED)
    inside = trusted(
        "did_india.pem",
        "did:india",
        not_before=datetime(2021, 3, 3, tzinfo=UTC),
        not_after=datetime(2021, 3, 4, tzinfo=UTC),
    )
    assert w3c_vc.verify(vector("DIVOCQR1"), Trust(keys=[inside]), at=NOW).valid


def test_it_builds_the_cowin_shape(signed: str) -> None:
    unsigned = w3c_vc.credential(RECORD)
    assert unsigned["@context"] == [
        "https://www.w3.org/2018/credentials/v1",
        "https://cowin.gov.in/credentials/vaccination/v1",
    ]
    assert unsigned["type"] == ["VerifiableCredential", "ProofOfVaccinationCredential"]
    assert unsigned["issuer"] == "https://vaccinate.test/"
    assert unsigned["issuanceDate"] == "2024-03-05T10:00:07.250Z"
    assert unsigned["credentialSubject"] == {
        "type": "Person",
        "id": "did:vaxnet:12345678901234",
        "refId": "12345678901234",
        "name": "अनीता शर्मा",
        "gender": "Female",
        "age": "43",
        "nationality": "IN",
        "address": {"district": "Hill District", "addressCountry": "IN"},
    }
    assert [entry["id"] for entry in unsigned["evidence"]] == [
        "https://vaccinate.test/vaccine/7QX2M9KD4RT1%23P/1",
        "https://vaccinate.test/vaccine/7QX2M9KD4RT1%23P/2",
    ]
    last = unsigned["evidence"][-1]
    assert last == {
        "id": "https://vaccinate.test/vaccine/7QX2M9KD4RT1%23P/2",
        "type": ["Vaccination"],
        "certificateId": "URN:UVCI:01:IN:7QX2M9KD4RT1#P",
        "batch": "4121Z002",
        "vaccine": "Covishield",
        "manufacturer": "Serum Institute of India",
        "date": "2024-02-09T00:00:00.000Z",
        "effectiveStart": "2024-02-09",
        "effectiveUntil": "2024-02-09",
        "dose": 2,
        "totalDoses": 2,
        "verifier": {"name": "Hill Town PHC"},
        "facility": {
            "name": "Hill Town PHC",
            "address": {"district": "Hill District", "addressCountry": "IN"},
        },
    }
    assert unsigned["nonTransferable"] == "true"
    document = json.loads(signed)
    assert {key: value for key, value in document.items() if key != "proof"} == unsigned
    proof = document["proof"]
    assert proof["type"] == "Ed25519Signature2018"
    assert proof["created"] == "2024-03-05T10:00:07Z"
    assert proof["verificationMethod"] == KEY_URL
    assert proof["proofPurpose"] == "assertionMethod"
    header = proof["jws"].split("..")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {
        "alg": "EdDSA",
        "b64": False,
        "crit": ["b64"],
    }


def test_it_counts_age_from_the_birth_year_alone() -> None:
    record = replace(RECORD, birth_date="1980", sex="other")
    subject = w3c_vc.credential(record)["credentialSubject"]
    assert (subject["age"], subject["gender"]) == ("44", "Other")


def test_it_uses_only_terms_the_contexts_define() -> None:
    # Safe mode: the canonical form refuses any property the contexts would drop.
    nquads = w3c_vc.canonical(w3c_vc.credential(RECORD))
    assert "4121Z002" in nquads
    assert "अनीता शर्मा" in nquads
    extra = w3c_vc.credential(RECORD)
    extra["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(FormatError) as caught:
        w3c_vc.canonical(extra)
    assert caught.value.reason == Reason.STRUCTURE


def test_it_round_trips_a_two_dose_certificate(signed: str, trust: Trust) -> None:
    zipped = w3c_vc.qr_bytes(signed)
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        assert [(i.filename, i.compress_type) for i in zf.infolist()] == [
            ("certificate.json", zipfile.ZIP_DEFLATED)
        ]
    text = w3c_vc.qr_text(signed)
    assert text == "B64:" + base64.b64encode(zipped).decode()
    for form in (zipped, text, signed):
        assert w3c_vc.decode(form) == json.loads(signed)
        verdict = w3c_vc.verify(form, trust, at=NOW)
        assert verdict == Verdict(
            status=Verdict.VALID, format=W3C_VC, summary=EXPECTED_SUMMARY, kid=KEY_URL
        )


def test_it_round_trips_with_an_rsa_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = SigningKey(purpose=W3C_VC, kid="r", private_key=private, key_id_url="did:test:rsa")
    signed = w3c_vc.encode(RECORD, key)
    proof = json.loads(signed)["proof"]
    assert proof["type"] == "RsaSignature2018"
    assert proof["jws"].startswith("eyJhbGciOiJQUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..")
    public = TrustedKey(purpose=W3C_VC, kid="did:test:rsa", public_key=private.public_key())
    verdict = w3c_vc.verify(w3c_vc.qr_text(signed), Trust(keys=[public]), at=NOW)
    assert verdict.summary == EXPECTED_SUMMARY
    assert verdict.valid


def test_it_reports_a_revoked_certificate(signed: str, trust: Trust) -> None:
    revoked = Trust(keys=trust.keys, revoked_ids={RECORD.certificate_id})
    verdict = w3c_vc.verify(w3c_vc.qr_bytes(signed), revoked, at=NOW)
    assert (verdict.status, verdict.reason) == (Verdict.REVOKED, Reason.REVOKED)
    assert verdict.summary == EXPECTED_SUMMARY
    other = Trust(keys=trust.keys, revoked_ids={"URN:UVCI:01:IN:SOMEONEELSE#A"})
    assert w3c_vc.verify(signed, other, at=NOW).valid


def test_it_catches_a_revoked_id_moved_to_another_field(signed: str, trust: Trust) -> None:
    # certificateId and batch are both schema:id, so swapping them keeps the signature.
    document = json.loads(signed)
    for entry in document["evidence"]:
        entry["certificateId"], entry["batch"] = entry["batch"], entry["certificateId"]
    assert w3c_vc.verify(json.dumps(document), trust, at=NOW).valid
    revoked = Trust(keys=trust.keys, revoked_ids={RECORD.certificate_id})
    assert w3c_vc.verify(json.dumps(document), revoked, at=NOW).status == Verdict.REVOKED


def test_it_shows_dose_n_of_m_even_when_swapped(signed: str, trust: Trust) -> None:
    # dose and totalDoses are both schema:doseValue: "2 of 1" verifies, but must show as 1 of 2.
    document = json.loads(signed)
    first = document["evidence"][0]
    first["dose"], first["totalDoses"] = first["totalDoses"], first["dose"]
    verdict = w3c_vc.verify(json.dumps(document), trust, at=NOW)
    assert verdict.valid
    assert verdict.summary == EXPECTED_SUMMARY


def test_it_refuses_a_signed_credential_with_an_undefined_term(signed: str, trust: Trust) -> None:
    document = json.loads(signed)
    document["credentialSubject"]["vaccinatedTwice"] = "yes"
    verdict = w3c_vc.verify(json.dumps(document), trust, at=NOW)
    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.STRUCTURE)


def test_it_refuses_a_credential_issued_after_the_check(signed: str, trust: Trust) -> None:
    verdict = w3c_vc.verify(signed, trust, at=RECORD.issued_at - timedelta(days=1))
    assert verdict.reason == Reason.NOT_YET_VALID


def test_the_qr_image_decodes_to_the_zip_bytes(signed: str) -> None:
    code = w3c_vc.qr(signed)
    assert code.error == "M"
    # A two-dose certificate with a Devanagari name fits version 24 or 25 at level M.
    assert 22 <= code.version <= 25
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(code.png())))
    assert len(results) == 1
    assert results[0].bytes == w3c_vc.qr_bytes(signed)


def test_it_verifies_without_the_network(
    monkeypatch: pytest.MonkeyPatch, signed: str, trust: Trust
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    # Start cold, so every context is loaded while the network is closed.
    monkeypatch.setattr(w3c_vc, "_resolved_contexts", {})
    w3c_vc._context_text.cache_clear()
    india = Trust(keys=[trusted("did_india.pem", "did:india")])
    assert w3c_vc.verify(vector("DIVOCQR1"), india, at=NOW).valid
    assert w3c_vc.verify(signed, trust, at=NOW).valid


def test_the_loader_refuses_unknown_contexts() -> None:
    with pytest.raises(FormatError) as caught:
        w3c_vc.document_loader("https://example.org/context/v1", {})
    assert caught.value.reason == Reason.STRUCTURE
    document = w3c_vc.credential(RECORD)
    document["@context"] = [*document["@context"], "https://example.org/context/v1"]
    with pytest.raises(FormatError) as caught:
        w3c_vc.canonical(document)
    assert caught.value.reason == Reason.STRUCTURE


def test_it_refuses_an_unknown_context_when_verifying(signed: str, trust: Trust) -> None:
    document = json.loads(signed)
    document["@context"].append("https://example.org/context/v1")
    verdict = w3c_vc.verify(json.dumps(document), trust, at=NOW)
    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.STRUCTURE)


def test_it_refuses_evidence_entries_sharing_an_id(signed: str, trust: Trust) -> None:
    document = json.loads(signed)
    document["evidence"][1]["id"] = document["evidence"][0]["id"]
    assert w3c_vc.verify(json.dumps(document), trust, at=NOW).reason == Reason.STRUCTURE


def _zip(entries: dict[str, bytes]) -> bytes:
    """Return a ZIP archive of the given entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("HC1:NCFOXN%TS3DH", Reason.PREFIX),
        (b"\xff\xfe\x00binary", Reason.PREFIX),
        ("B64:not*base64!", Reason.ENCODING),
        ("B64:" + base64.b64encode(b"PK\x03\x04broken").decode(), Reason.COMPRESSION),
        ("B64:" + base64.b64encode(b"plain text").decode(), Reason.COMPRESSION),
        (_zip({"other.json": b"{}"}), Reason.STRUCTURE),
        (_zip({"certificate.json": b"[1, 2]"}), Reason.STRUCTURE),
        ('{"not": "closed"', Reason.STRUCTURE),
    ],
)
def test_it_refuses_broken_input(data: str | bytes, reason: str, trust: Trust) -> None:
    with pytest.raises(FormatError) as caught:
        w3c_vc.decode(data)
    assert caught.value.reason == reason
    verdict = w3c_vc.verify(data, trust, at=NOW)
    assert (verdict.status, verdict.reason) == (Verdict.INVALID, reason)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.pop("proof"),
        lambda d: d["proof"].update(jws="eyJhbGciOiJub25lIn0..AAAA"),
        lambda d: d["proof"].update(jws="not a jws"),
        lambda d: d["proof"].update(type="BbsBlsSignature2020"),
        lambda d: d["proof"].update(created="yesterday"),
        lambda d: d.update(evidence=[]),
        lambda d: d.update(credentialSubject="someone"),
        lambda d: d.update({"@context": [{"name": "http://schema.org/name"}]}),
    ],
)
def test_it_never_raises_on_a_mangled_credential(mangle: Any, signed: str, trust: Trust) -> None:
    document = json.loads(signed)
    mangle(document)
    verdict = w3c_vc.verify(json.dumps(document), trust, at=NOW)
    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.STRUCTURE)
