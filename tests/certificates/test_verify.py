"""Every certificate vaxnet issues verifies in every format; revoked, unknown and junk do not."""

import json
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from django.test import override_settings

from vaxnet.booking.models import Session
from vaxnet.certificates import trust as trust_module
from vaxnet.certificates.formats import w3c_vc
from vaxnet.certificates.formats.base import EU_DCC, SHC, W3C_VC, Reason, Trust, Verdict
from vaxnet.certificates.keys import keystore
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.services import certificate_issue, certificate_sign
from vaxnet.certificates.trust import (
    BundleError,
    forget_trust,
    public_bundle,
    trust_from_bundle,
    trust_from_store,
)
from vaxnet.certificates.verify import (
    MAX_BYTES,
    age_in_years,
    public_summary,
    reason_message,
    verify_any,
)
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch

from ..vaccination.day import NOW
from .conftest import give_dose

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture(autouse=True)
def keys_before_the_clock(tmp_path: Path) -> Iterator[Path]:
    """Give the test keys made a year before the test clock, and no kept trust.

    The session's keys are made at the real time, which the test clock (2 March 2026) may be
    before: certificates signed at the test time would predate their keys.
    """
    folder = tmp_path / "keys"
    with override_settings(CERTIFICATE_KEYS_DIR=folder):
        keystore().generate(
            country="TS", issuer="Ministry of Health, Testland", now=NOW - timedelta(days=365)
        )
        forget_trust()
        yield folder
    forget_trust()


def _signed(person: Beneficiary, session: Session, batch: Batch, by: User) -> Certificate:
    give_dose(person, 1, days_ago=100, session=session, batch=batch, by=by)
    give_dose(person, 2, session=session, batch=batch, by=by)
    return certificate_sign(Certificate.objects.get(beneficiary=person, status="valid"))


@pytest.fixture
def signed(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> Certificate:
    return _signed(asha, today_session, batch, vaccinator)


def _payloads(certificate: Certificate) -> dict[str, str | bytes]:
    """Return every form a verifier may be handed, by a name for the test's messages."""
    divoc = certificate.payloads[W3C_VC]
    return {
        "eu_dcc": certificate.payloads[EU_DCC],
        "shc": certificate.payloads[SHC],
        "w3c_vc json": divoc,
        "w3c_vc zip": w3c_vc.qr_bytes(divoc),
        "w3c_vc b64": w3c_vc.qr_text(divoc),
    }


def _format(name: str) -> str:
    return name.split()[0]


def test_it_verifies_every_format_vaxnet_issues(signed: Certificate) -> None:
    assert set(signed.payloads) == {W3C_VC, EU_DCC, SHC}
    trust = trust_from_store()

    for name, payload in _payloads(signed).items():
        verdict = verify_any(payload, trust)
        assert (verdict.status, verdict.format, verdict.reason) == (
            Verdict.VALID,
            _format(name),
            "",
        ), f"{name}: {verdict}"
        assert verdict.kid == signed.kids[_format(name)]
        summary = public_summary(verdict)
        assert summary["status"] == "valid"
        assert summary["age"] == 46, name  # born 1980, checked on 2 March 2026
        assert summary["name"].upper() == "ASHA", name
        doses = [(1, 2, "2025-11-22"), (2, 2, "2026-03-02")]
        # An EU DCC holds the last dose only, as its schema has it; a health card does not
        # say how many doses the series has (0).
        expected = {
            "eu_dcc": doses[-1:],
            "shc": [(n, 0, on) for n, _, on in doses],
        }.get(name, doses)
        assert [(d["number"], d["of"], d["date"]) for d in summary["doses"]] == expected, name
        assert summary["vaccine"], name
        # The minimum only: no ID, no sex, no birth date, no certificate id.
        assert set(summary) == {"status", "name", "age", "vaccine", "doses"}


def test_it_reads_pasted_text_with_spaces_and_line_breaks(signed: Certificate) -> None:
    trust = trust_from_store()
    hc1 = signed.payloads[EU_DCC]
    b64 = w3c_vc.qr_text(signed.payloads[W3C_VC])

    assert verify_any(f"\n  {hc1[:40]}\r\n{hc1[40:]}  \n", trust).valid
    assert verify_any(
        "  " + "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76)), trust
    ).valid
    assert verify_any("\ufeff" + signed.payloads[SHC] + "\n", trust).valid


def test_it_reads_a_health_card_file_and_a_bare_jws(signed: Certificate) -> None:
    from vaxnet.certificates.formats import shc

    jws = shc.compact(signed.payloads[SHC])
    trust = trust_from_store()

    assert verify_any(jws, trust).valid
    assert verify_any(json.dumps({"verifiableCredential": [jws]}), trust).valid


def test_revoked_certificates_are_revoked_in_every_format(
    signed: Certificate, asha: Beneficiary
) -> None:
    assert all(verify_any(p, trust_from_store()).valid for p in _payloads(signed).values())

    certificate_issue(beneficiary_id=asha.pk, target=signed.target, revoked_for="correction")
    forget_trust()
    trust = trust_from_store()

    assert signed.uvci in trust.revoked_ids
    for name, payload in _payloads(signed).items():
        verdict = verify_any(payload, trust)
        assert (verdict.status, verdict.format, verdict.reason) == (
            Verdict.REVOKED,
            _format(name),
            Reason.REVOKED,
        ), f"{name}: {verdict}"
        assert public_summary(verdict)["status"] == "revoked"


def test_a_revocation_shows_once_the_kept_trust_is_old(
    signed: Certificate, asha: Beneficiary, monkeypatch: pytest.MonkeyPatch
) -> None:
    hc1 = signed.payloads[EU_DCC]
    assert verify_any(hc1, trust_from_store()).valid

    certificate_issue(beneficiary_id=asha.pk, target=signed.target, revoked_for="correction")
    # Within the window the process still answers from what it read…
    assert verify_any(hc1, trust_from_store()).valid
    # …and once the window has passed it reads the store again.
    monkeypatch.setattr(trust_module, "TRUST_SECONDS", 0.0)
    assert verify_any(hc1, trust_from_store()).status == Verdict.REVOKED


def test_superseded_certificates_stay_valid(
    signed: Certificate, asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    give_dose(asha, 3, kind="precaution", session=today_session, batch=batch, by=vaccinator)
    forget_trust()

    assert all(verify_any(p, trust_from_store()).valid for p in _payloads(signed).values())


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   \n ",
        "hello",
        "https://example.com/certificate",
        '{"name": "Asha"}',
        "[1, 2, 3]",
        "{not json",
        b"\x00\x01\x02\xff\xfe",
        b"\x89PNG\r\n\x1a\n",
        "a.b",
        "x" * (MAX_BYTES + 1),
        "HC1:" + "A" * MAX_BYTES,
        b"PK\x03\x04" + b"\0" * MAX_BYTES,
    ],
)
def test_junk_is_unreadable(junk: str | bytes) -> None:
    verdict = verify_any(junk, Trust())

    assert (verdict.status, verdict.format, verdict.reason) == ("invalid", "", Reason.UNREADABLE)
    assert public_summary(verdict) == {"status": "invalid"}


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("HC1:NOT-BASE45~~", EU_DCC),
        ("shc:/5676290", SHC),
        ("shc:/abc", SHC),
        ("B64:%%%", W3C_VC),
        ('{"@context": ["https://www.w3.org/2018/credentials/v1"]}', W3C_VC),
    ],
)
def test_broken_codes_of_a_known_format_say_which_format(text: str, fmt: str) -> None:
    verdict = verify_any(text, Trust())

    assert (verdict.status, verdict.format) == ("invalid", fmt)
    assert verdict.reason not in ("", Reason.UNREADABLE)


def test_a_tampered_certificate_is_refused(signed: Certificate) -> None:
    document = json.loads(signed.payloads[W3C_VC])
    document["credentialSubject"]["name"] = "Someone Else"

    verdict = verify_any(json.dumps(document), trust_from_store())

    assert (verdict.status, verdict.format, verdict.reason) == ("invalid", W3C_VC, "signature")


def test_keys_not_in_the_store_are_unknown(signed: Certificate) -> None:
    # A trust with every key but this deployment's own.
    other = Trust(keys=[k for k in trust_from_store().keys if k.kid not in signed.kids.values()])

    for name, payload in _payloads(signed).items():
        verdict = verify_any(payload, other)
        assert (verdict.status, verdict.format, verdict.reason) == (
            Verdict.INVALID,
            _format(name),
            Reason.UNKNOWN_KEY,
        ), f"{name}: {verdict}"
        assert verdict.summary is None


def test_a_retired_key_still_verifies_after_rotate(
    tmp_path: Path, asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    with override_settings(CERTIFICATE_KEYS_DIR=tmp_path / "fresh"):
        call_command("keys", "generate", stdout=StringIO())
        old = _signed(asha, today_session, batch, vaccinator)
        for fmt in (W3C_VC, EU_DCC, SHC):
            out = StringIO()
            call_command("keys", "rotate", fmt, stdout=out)
            assert f"retired {old.kids[fmt]}" in out.getvalue()
        give_dose(asha, 3, kind="precaution", session=today_session, batch=batch, by=vaccinator)
        new = certificate_sign(Certificate.objects.get(beneficiary=asha, status="valid"))
        trust = trust_from_store()

        for fmt in (W3C_VC, EU_DCC, SHC):
            assert new.kids[fmt] != old.kids[fmt]
            assert verify_any(old.payloads[fmt], trust).valid, fmt
            assert verify_any(new.payloads[fmt], trust).valid, fmt
        listing = StringIO()
        call_command("keys", "list", stdout=listing)
        rows = [line.split("\t") for line in listing.getvalue().splitlines()]
        assert sorted((r[0], r[2]) for r in rows) == sorted(
            [(fmt, "active") for fmt in (W3C_VC, EU_DCC, SHC)]
            + [(fmt, "retired") for fmt in (W3C_VC, EU_DCC, SHC)]
        )
        assert {r[1] for r in rows} == set(old.kids.values()) | set(new.kids.values())


def test_generate_uses_the_active_country(tmp_path: Path) -> None:
    with override_settings(CERTIFICATE_KEYS_DIR=tmp_path / "fresh"):
        out = StringIO()
        call_command("keys", "generate", stdout=out)
        assert out.getvalue().count("made key") == 3
        again = StringIO()
        call_command("keys", "generate", stdout=again)
        assert "nothing to do" in again.getvalue()
        store = keystore()
        signer = store.signing_key(EU_DCC).certificate
        assert signer is not None
        (country,) = signer.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        (name,) = signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert country.value == "TS"
        assert str(name.value).startswith("Ministry of Health, Testland DSC ")


def test_the_export_is_public_and_verifies_offline(
    signed: Certificate, asha: Beneficiary, tmp_path: Path
) -> None:
    certificate_issue(beneficiary_id=asha.pk, target=signed.target, revoked_for="correction")
    out = StringIO()
    call_command("keys", "export", stdout=out)
    text = out.getvalue()
    assert "PRIVATE" not in text
    bundle = json.loads(text)
    assert set(bundle) == {
        "format",
        "version",
        "issuer_url",
        "generated_at",
        "keys",
        "csca_certificate",
        "revoked_ids",
        "revoked_rids",
    }
    assert {k["purpose"] for k in bundle["keys"]} == {W3C_VC, EU_DCC, SHC}
    assert bundle["csca_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert bundle["revoked_ids"] == [signed.uvci]
    assert list(bundle["revoked_rids"]) == [signed.kids[SHC]]

    trust = trust_from_bundle(bundle)
    for name, payload in _payloads(signed).items():
        assert verify_any(payload, trust).status == Verdict.REVOKED, name

    call_command("keys", "export", str(tmp_path / "bundle.json"), stderr=StringIO())
    written = json.loads((tmp_path / "bundle.json").read_text())
    assert written["keys"] == bundle["keys"]


def test_broken_bundles_are_refused() -> None:
    good = public_bundle()
    with pytest.raises(BundleError):
        trust_from_bundle({"keys": []})
    with pytest.raises(BundleError):
        trust_from_bundle({**good, "version": 2})
    with pytest.raises(BundleError):
        trust_from_bundle({**good, "keys": [{"purpose": "shc", "kid": "x", "public_key": "no"}]})
    # A document signer not issued by the bundle's CSCA is not trusted.
    other_ca = good["keys"][0]["certificate"] or next(
        k["certificate"] for k in good["keys"] if k["certificate"]
    )
    with pytest.raises(BundleError):
        trust_from_bundle({**good, "csca_certificate": other_ca})


def test_ages_come_from_the_birth_date_or_year() -> None:
    from datetime import date

    on = date(2026, 3, 2)
    assert age_in_years("1980", on) == 46
    assert age_in_years("1980-03", on) == 46
    assert age_in_years("1980-04", on) == 45
    assert age_in_years("1980-03-02", on) == 46
    assert age_in_years("1980-03-03", on) == 45
    assert age_in_years("2030", on) is None
    assert age_in_years("", on) is None


def test_every_reason_has_its_own_message() -> None:
    codes = [v for k, v in vars(Reason).items() if k.isupper()]
    messages = {reason_message(code) for code in codes}

    assert len(messages) == len(codes)
    assert reason_message("no such code") == reason_message(Reason.UNREADABLE)
