"""Anyone checks a certificate in the browser: a photo of its QR code, or its text pasted."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import segno
from django.utils import translation

from tests.servers import server_env
from vaxnet.certificates.formats import w3c_vc

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

# Run in the server's environment: make its keys, re-issue one demo person's certificate now
# (so that it is newer than the keys) and sign it.
_SIGN = """
import json
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.services import certificate_issue, certificate_sign
old = Certificate.objects.filter(status="valid").order_by("id").first()
new = certificate_sign(certificate_issue(beneficiary_id=old.beneficiary_id, target=old.target))
print(json.dumps({"payloads": new.payloads, "name": new.record["name"]}))
"""


@pytest.fixture(scope="module")
def certificate(server: str, server_var: Path) -> dict[str, Any]:
    """Return the payloads and the name of a certificate the server has just signed."""
    env = server_env(server_var)
    vaxnet = [sys.executable, "-m", "vaxnet.cli"]
    for args in (["keys", "generate"], ["shell", "-c", _SIGN]):
        done = subprocess.run(
            [*vaxnet, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _hindi(text: str) -> str:
    with translation.override("hi"):
        translated = translation.gettext(text)
    assert translated != text, f"no Hindi translation for {text!r}: compile the catalogues"
    return translated


def _result(page: Any) -> Any:
    section = page.locator("#verify-result-section")
    section.wait_for()
    return section


def test_it_reads_a_photo_of_a_divoc_qr_code(
    server: str, page: Any, certificate: dict[str, Any], tmp_path: Path, output: Path
) -> None:
    image = tmp_path / "divoc.png"
    zipped = w3c_vc.qr_bytes(certificate["payloads"]["w3c_vc"])
    segno.make_qr(zipped, mode="byte", error="m", boost_error=False).save(str(image), scale=5)
    page.goto(server + "/verify/")

    page.get_by_label("Photo or screenshot of the QR code").set_input_files(str(image))

    result = _result(page)
    assert result.get_by_role("heading", level=2).inner_text() == "✓ Valid"
    assert certificate["name"] in result.inner_text()
    assert "Dose " in result.inner_text()
    # The binary QR went as base64 of its bytes, and the result has the focus.
    assert page.get_by_label("Text of the QR code").input_value().startswith("B64:UEsDB")
    # The page's script moves the focus once it has run, a moment after the page shows.
    page.wait_for_function("document.activeElement.id === 'verify-result-section'")
    page.screenshot(path=str(output / "verify-photo.png"), full_page=True)


def test_it_reads_a_photo_of_an_eu_qr_code(
    server: str, page: Any, certificate: dict[str, Any], tmp_path: Path
) -> None:
    image = tmp_path / "hc1.png"
    segno.make(certificate["payloads"]["eu_dcc"], error="q", mode="alphanumeric").save(
        str(image), scale=4
    )
    page.goto(server + "/verify/")

    page.get_by_label("Photo or screenshot of the QR code").set_input_files(str(image))

    assert _result(page).get_by_role("heading", level=2).inner_text() == "✓ Valid"


def test_it_checks_pasted_text_with_the_keyboard(
    server: str, page: Any, certificate: dict[str, Any]
) -> None:
    page.goto(server + "/verify/")
    assert page.get_by_role("button", name="Scan with camera").is_visible()

    page.get_by_label("Text of the QR code").fill(certificate["payloads"]["eu_dcc"])
    page.get_by_role("button", name="Verify", exact=True).press("Enter")

    assert _result(page).get_by_role("heading", level=2).inner_text() == "✓ Valid"

    page.get_by_label("Text of the QR code").fill("this is not a certificate")
    page.get_by_role("button", name="Verify", exact=True).press("Enter")
    page.wait_for_selector(".verify-invalid")
    assert _result(page).get_by_role("heading", level=2).inner_text() == "✗ Invalid"


def test_it_answers_in_hindi(
    server: str, page: Any, certificate: dict[str, Any], output: Path
) -> None:
    page.context.add_cookies([{"name": "vaxnet_language", "value": "hi", "url": server}])
    page.goto(server + "/verify/")
    assert page.locator("html").get_attribute("lang") == "hi"

    page.locator("#id_text").fill(certificate["payloads"]["shc"])
    page.locator("#verify-form button[type=submit]").click()

    result = _result(page)
    assert result.get_by_role("heading", level=2).inner_text() == f"✓ {_hindi('Valid')}"
    assert certificate["name"] in result.inner_text()
    page.screenshot(path=str(output / "verify-hi.png"), full_page=True)
