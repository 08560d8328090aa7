"""Verification for everyone: the page (en, hi), the API, the rate limit, and `vaxnet verify`."""

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import segno
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from tests.servers import server_env
from vaxnet.booking.models import Session
from vaxnet.certificates import verify_views
from vaxnet.certificates.formats import w3c_vc
from vaxnet.certificates.formats.base import EU_DCC, SHC, W3C_VC, Reason
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.services import certificate_issue
from vaxnet.certificates.trust import forget_trust
from vaxnet.certificates.verify import reason_message
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch

from .test_verify import _signed, keys_before_the_clock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
ROOT = Path(__file__).resolve().parents[2]
AT = "2026-03-02T12:00:00+00:00"

__all__ = ["keys_before_the_clock"]  # autouse: each test signs with keys older than its clock


@pytest.fixture(autouse=True)
def _no_counted_hits() -> Iterator[None]:
    """Start each test with no verification counted against the test client's address."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def signed(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> Certificate:
    return _signed(asha, today_session, batch, vaccinator)


def _hindi(text: str) -> str:
    with translation.override("hi"):
        translated = translation.gettext(text)
    assert translated != text, f"no Hindi translation for {text!r}"
    return translated


def _post(client: Client, text: str, **extra: str) -> tuple[int, str]:
    response = client.post("/verify/", {"text": text}, **extra)  # type: ignore[arg-type]
    return response.status_code, response.content.decode()


# The page


def test_the_page_is_a_form_that_works_without_javascript(client: Client) -> None:
    response = client.get("/verify/")
    html = response.content.decode()

    assert response.status_code == 200
    assert 'method="post"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_text">Text of the QR code</label>' in html
    assert '<textarea id="id_text" name="text"' in html
    assert 'aria-live="polite"' in html
    # The photo and camera tools need the script: hidden until it runs.
    assert '<div id="verify-tools" class="verify-tools" hidden>' in html
    assert "/static/vendor/jsqr/jsQR.js" in html
    assert "/static/js/verify.js" in html
    assert "cdn" not in html.lower()


def test_the_page_refuses_posts_without_the_csrf_token(signed: Certificate) -> None:
    strict = Client(enforce_csrf_checks=True)

    assert strict.post("/verify/", {"text": signed.payloads[EU_DCC]}).status_code == 403


@pytest.mark.parametrize("fmt", [EU_DCC, SHC, W3C_VC])
def test_a_valid_certificate_shows_valid_and_the_minimum(
    client: Client, signed: Certificate, fmt: str
) -> None:
    payload = signed.payloads[fmt]
    text = w3c_vc.qr_text(payload) if fmt == W3C_VC else payload

    status, html = _post(client, text)

    assert status == 200
    assert '<section class="verify-result verify-valid"' in html
    assert '<span aria-hidden="true">✓</span> Valid</h2>' in html
    assert "<dd>46 years</dd>" in html
    assert "Asha" in html or "ASHA" in html
    # A health card does not say how many doses the series has.
    dose = "Dose 2, given" if fmt == SHC else "Dose 2 of 2, given"
    assert f"{dose} on 2 March 2026" in html
    # Nothing beyond the minimum: no ID number, no certificate id.
    assert signed.uvci not in html
    assert "Aadhaar" not in html


def test_the_page_speaks_hindi(client: Client, signed: Certificate) -> None:
    client.cookies["vaxnet_language"] = "hi"

    status, html = _post(client, signed.payloads[SHC])

    assert status == 200
    assert '<html lang="hi"' in html
    assert f"</span> {_hindi('Valid')}</h2>" in html
    assert _hindi("Language") in html


def test_a_revoked_certificate_shows_revoked_and_why(
    client: Client, signed: Certificate, asha: Beneficiary
) -> None:
    certificate_issue(beneficiary_id=asha.pk, target=signed.target, revoked_for="correction")
    forget_trust()

    status, html = _post(client, signed.payloads[EU_DCC])

    assert status == 200
    assert '<section class="verify-result verify-revoked"' in html
    assert "</span> Revoked</h2>" in html
    assert reason_message(Reason.REVOKED) in html


def test_junk_shows_invalid_and_why(client: Client) -> None:
    status, html = _post(client, "hello, I am vaccinated")

    assert status == 200
    assert '<section class="verify-result verify-invalid"' in html
    assert "</span> Invalid</h2>" in html
    assert reason_message(Reason.UNREADABLE) in html
    assert "hello, I am vaccinated</textarea>" in html


def test_an_empty_post_asks_for_the_text(client: Client) -> None:
    status, html = _post(client, "  ")

    assert status == 400
    assert 'aria-invalid="true"' in html
    assert "Paste the text of a certificate&#x27;s QR code, or choose a photo of it." in html
    assert "verify-result-section" not in html


def test_the_page_is_rate_limited_per_client(
    client: Client, signed: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_views, "VERIFY_PER_CLIENT", (2, 60))
    text = signed.payloads[SHC]

    assert _post(client, text)[0] == 200
    assert _post(client, text)[0] == 200
    response = client.post("/verify/", {"text": text})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many attempts. Please try again in" in response.content.decode()
    # Another client is not held back by the first.
    assert _post(client, text, REMOTE_ADDR="10.9.8.7")[0] == 200

    client.cookies["vaxnet_language"] = "hi"
    refused = client.post("/verify/", {"text": text}).content.decode()
    with translation.override("hi"):
        wait = translation.ngettext(
            "Too many attempts. Please try again in {count} second.",
            "Too many attempts. Please try again in {count} seconds.",
            2,
        )
    assert wait != "Too many attempts. Please try again in {count} seconds."
    assert wait.split("{count}")[0].strip() in refused


# The API

API = "/api/v1/certificates/verify"


def _api(client: Client, body: object, **extra: str) -> tuple[int, dict]:
    response = client.post(API, json.dumps(body), content_type="application/json", **extra)  # type: ignore[arg-type]
    return response.status_code, response.json()


def test_the_api_answers_valid_with_the_minimum(client: Client, signed: Certificate) -> None:
    status, body = _api(client, {"text": signed.payloads[EU_DCC]})

    assert status == 200
    assert body == {
        "status": "valid",
        "format": "eu_dcc",
        "reason": "",
        "message": "",
        "certificate": {
            "name": body["certificate"]["name"],
            "age": 46,
            "vaccine": body["certificate"]["vaccine"],
            "doses": [
                {
                    "vaccine": body["certificate"]["vaccine"],
                    "number": 2,
                    "of": 2,
                    "date": "2026-03-02",
                }
            ],
        },
    }
    assert body["certificate"]["name"].upper() == "ASHA"


def test_the_api_takes_the_divoc_qr_bytes(client: Client, signed: Certificate) -> None:
    raw = w3c_vc.qr_bytes(signed.payloads[W3C_VC])

    status, body = _api(client, {"qr_base64": base64.b64encode(raw).decode()})

    assert (status, body["status"], body["format"]) == (200, "valid", "w3c_vc")
    assert [d["number"] for d in body["certificate"]["doses"]] == [1, 2]


def test_the_api_answers_revoked_and_invalid_with_200(
    client: Client, signed: Certificate, asha: Beneficiary
) -> None:
    certificate_issue(beneficiary_id=asha.pk, target=signed.target, revoked_for="correction")
    forget_trust()

    status, body = _api(client, {"text": signed.payloads[SHC]})
    assert (status, body["status"], body["format"], body["reason"]) == (
        200,
        "revoked",
        "shc",
        "revoked",
    )
    assert body["message"] == reason_message(Reason.REVOKED)
    assert body["certificate"]["age"] == 46

    status, body = _api(client, {"text": "not a certificate"})
    assert (status, body) == (
        200,
        {
            "status": "invalid",
            "format": "",
            "reason": "unreadable",
            "message": reason_message(Reason.UNREADABLE),
            "certificate": None,
        },
    )


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "certificate_missing", "text"),
        ({"text": "   "}, "certificate_missing", "text"),
        ({"text": "HC1:" + "A" * 20_000}, "certificate_too_large", "text"),
        ({"qr_base64": "A" * 30_000}, "certificate_too_large", "qr_base64"),
        ({"qr_base64": "not base64!"}, "qr_base64_invalid", "qr_base64"),
    ],
)
def test_the_api_refuses_requests_without_a_certificate(
    client: Client, body: dict, code: str, field: str
) -> None:
    status, answer = _api(client, body)

    assert status == 400
    assert answer["error"]["code"] == code
    assert answer["error"]["field"] == field
    assert answer["error"]["message"]


def test_the_api_is_rate_limited_and_needs_no_sign_in(
    client: Client, signed: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_views, "VERIFY_PER_CLIENT", (1, 60))

    assert _api(client, {"text": signed.payloads[SHC]})[0] == 200
    response = client.post(
        API, json.dumps({"text": signed.payloads[SHC]}), content_type="application/json"
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert response["Retry-After"]


# The command line


def _export(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle.json"
    call_command("keys", "export", str(bundle), stderr=StringIO())
    return bundle


def _offline(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `vaxnet verify` in a process whose database cannot be reached at all."""
    env = server_env(
        tmp_path / "offline",
        # Nothing listens on port 9: any query would fail the command.
        DATABASE_URL="postgres://nobody:nothing@127.0.0.1:9/none",
        VAXNET_CERT_KEYS_DIR=str(tmp_path / "no-keys-here"),
    )
    return subprocess.run(
        [sys.executable, "-m", "vaxnet.cli", "verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_verifies_offline_from_a_bundle(signed: Certificate, tmp_path: Path) -> None:
    bundle = _export(tmp_path)
    hc1 = tmp_path / "hc1.txt"
    hc1.write_text(signed.payloads[EU_DCC] + "\n")

    by_text = _offline(signed.payloads[SHC], "--keys", str(bundle), "--at", AT, tmp_path=tmp_path)
    by_file = _offline(str(hc1), "--keys", str(bundle), "--at", AT, tmp_path=tmp_path)

    assert by_text.returncode == 0, by_text.stderr
    assert by_text.stdout.splitlines()[:2] == ["status: valid", "format: shc"]
    assert '"age": 46' in by_text.stdout
    assert by_file.returncode == 0, by_file.stderr
    assert by_file.stdout.splitlines()[:2] == ["status: valid", "format: eu_dcc"]


def test_the_command_reads_qr_images(signed: Certificate, tmp_path: Path) -> None:
    bundle = _export(tmp_path)
    divoc = tmp_path / "divoc.png"
    segno.make_qr(
        w3c_vc.qr_bytes(signed.payloads[W3C_VC]), mode="byte", error="m", boost_error=False
    ).save(str(divoc), scale=4)
    hc1 = tmp_path / "hc1.png"
    segno.make(signed.payloads[EU_DCC], error="q", mode="alphanumeric").save(str(hc1), scale=4)

    for image, fmt in ((divoc, "w3c_vc"), (hc1, "eu_dcc")):
        done = _offline(str(image), "--keys", str(bundle), "--at", AT, tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[:2] == ["status: valid", f"format: {fmt}"]


def test_the_command_exits_1_when_not_valid(
    signed: Certificate, asha: Beneficiary, tmp_path: Path
) -> None:
    certificate_issue(beneficiary_id=asha.pk, target=signed.target, revoked_for="correction")
    bundle = _export(tmp_path)

    revoked = _offline(signed.payloads[SHC], "--keys", str(bundle), "--at", AT, tmp_path=tmp_path)
    junk = _offline("hello", "--keys", str(bundle), tmp_path=tmp_path)
    expired = _offline(
        signed.payloads[EU_DCC], "--keys", str(bundle), "--at", "2031-01-01", tmp_path=tmp_path
    )

    assert revoked.returncode == 1
    assert revoked.stdout.splitlines()[:3] == [
        "status: revoked",
        "format: shc",
        f"reason: revoked ({reason_message(Reason.REVOKED)})",
    ]
    assert junk.returncode == 1
    assert junk.stdout.splitlines()[:2] == ["status: invalid", "format: -"]
    assert expired.returncode == 1
    assert expired.stdout.splitlines()[:3] == [
        "status: invalid",
        "format: eu_dcc",
        f"reason: expired ({reason_message(Reason.EXPIRED)})",
    ]


def test_the_command_needs_the_database_without_a_bundle(signed: Certificate) -> None:
    out = StringIO()
    call_command("verify", signed.payloads[EU_DCC], stdout=out)
    assert out.getvalue().splitlines()[:2] == ["status: valid", "format: eu_dcc"]

    with pytest.raises(SystemExit) as exited:
        call_command("verify", "hello", stdout=StringIO())
    assert exited.value.code == 1
