"""A citizen books a vaccination in Hindi on a phone: sign in, add a member, book, see the code."""

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from vaxnet.core.checksums import verhoeff_digit

pytestmark = pytest.mark.e2e

PHONE = "+919876543210"
# Vaccines the demo offers to adults by year of birth (the routine ones need a birth date).
ADULT_VACCINES = ("COVISHIELD", "COVAXIN")


def _hi(text: str) -> str:
    """Return the Hindi of a page text (the English until the catalogue translates it)."""
    with translation.override("hi"):
        return translation.gettext(text)


def _sms(sms_file: Path, template: str) -> str:
    """Wait for the latest SMS of a kind to the phone, as the server's file transport wrote it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = sms_file.read_text(encoding="utf-8").splitlines() if sms_file.exists() else []
        for line in reversed(lines):
            message = json.loads(line)
            if message["to"] == PHONE and message["template"] == template:
                return str(message["text"])
        time.sleep(0.1)
    raise AssertionError(f"no {template} SMS to {PHONE} in {sms_file}")


def _aadhaar() -> str:
    body = "43210987654"
    return body + verhoeff_digit(body)


def _fits_width(page: Any) -> None:
    """Assert that nothing makes the page wider than the phone's screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def test_it_books_a_vaccination_in_hindi(
    server: str, page: Any, output: Path, sms_file: Path
) -> None:
    page.context.add_cookies([{"name": "vaxnet_language", "value": "hi", "url": server}])
    page.goto(server + "/")
    nav = page.get_by_role("navigation", name=_hi("Main"))

    # Sign in with the mobile number and the code from the SMS.
    nav.get_by_role("link", name=_hi("Sign in"), exact=True).click()
    page.get_by_label(_hi("Mobile number")).fill("98765 43210")
    page.get_by_role("button", name=_hi("Send the code")).click()
    page.wait_for_url("**/account/sign-in/code/**")
    assert "+91XXXXXX3210" in page.locator("main").inner_text()
    page.screenshot(path=str(output / "book-1-code-hi.png"), full_page=True)
    _fits_width(page)
    found = re.search(r"\b(\d{6})\b", _sms(sms_file, "otp"))
    assert found is not None
    code = found.group(1)
    page.get_by_label(_hi("Code from the SMS")).fill(code)
    page.keyboard.press("Enter")  # the code field submits its form, as on any phone keyboard
    page.wait_for_url("**/account/")
    assert page.locator("html").get_attribute("lang") == "hi"

    # Register a family member with an Aadhaar number.
    page.get_by_role("link", name=_hi("Add a member")).click()
    page.get_by_label(_hi("Full name, as on the ID document")).fill("आशा देवी")
    page.get_by_role("group", name=_hi("Sex")).get_by_label(_hi("Female")).check()
    page.get_by_label(_hi("Year of birth")).fill("1985")
    page.get_by_label(_hi("ID document"), exact=True).select_option("aadhaar")
    page.get_by_label(_hi("ID number"), exact=True).fill(_aadhaar())
    page.screenshot(path=str(output / "book-2-member-hi.png"), full_page=True)
    _fits_width(page)
    page.get_by_role("button", name=_hi("Add the member")).click()
    page.wait_for_url("**/account/")
    card = page.locator(".member-card")
    assert "आशा देवी" in card.inner_text()
    assert f"XXXX XXXX {_aadhaar()[-4:]}" in card.inner_text()
    page.screenshot(path=str(output / "book-3-account-hi.png"), full_page=True)
    _fits_width(page)

    # Find a session tomorrow that offers a first dose, in one state or the other.
    nav.get_by_role("link", name=_hi("Book a vaccination")).click()
    page.wait_for_url("**/book/")
    tomorrow = (datetime.now(ZoneInfo("Asia/Kolkata")) + timedelta(days=1)).date().isoformat()
    sessions = ", ".join(
        f'li.session[data-date="{tomorrow}"][data-vaccine="{code}"][data-doses~="1"] a.slot'
        for code in ADULT_VACCINES
    )
    for state in ("TS-N", "TS-S"):
        page.locator("#id_region").select_option(state)
        page.get_by_role("button", name=_hi("Find sessions")).click()
        page.wait_for_url(f"**region={state}**")
        page.locator("#results h2").wait_for()
        if page.locator(sessions).count():
            break
    else:
        pytest.fail(f"the demo has no first-dose session on {tomorrow} with an online place")
    assert page.locator("#finder-status").inner_text()
    page.screenshot(path=str(output / "book-4-sessions-hi.png"), full_page=True)
    _fits_width(page)

    # Book a slot for the member and see the security code.
    page.locator(sessions).first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/book/*/?slot=*")
    assert page.get_by_label("आशा देवी").is_checked()
    page.screenshot(path=str(output / "book-5-choose-hi.png"), full_page=True)
    _fits_width(page)
    page.get_by_role("button", name=_hi("Book"), exact=True).click()
    page.wait_for_url("**/book/booked/**")
    security_code = page.locator(".security-code strong").inner_text()
    assert re.fullmatch(r"\d{4}", security_code)
    assert security_code in _sms(sms_file, "booking_confirmed")
    page.screenshot(path=str(output / "book-6-booked-hi.png"), full_page=True)
    _fits_width(page)

    # The account lists the appointment with its code and a way to change it.
    page.get_by_role("link", name=_hi("Go to my account")).click()
    assert security_code in page.locator(".appointment-list").inner_text()
    page.screenshot(path=str(output / "book-7-account-hi.png"), full_page=True)
