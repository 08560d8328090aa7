"""A citizen opens vaxnet, switches to Hindi with the keyboard, and finds a centre."""

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

pytestmark = pytest.mark.e2e


def _hindi(text: str) -> str:
    with translation.override("hi"):
        translated = translation.gettext(text)
    assert translated != text, f"no Hindi translation for {text!r}: compile the catalogues"
    return translated


def test_it_shows_the_home_page_in_hindi(server: str, page: Any, output: Path) -> None:
    page.goto(server + "/")
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_label("Language").select_option("hi")
    page.get_by_role("button", name="Change language").press("Enter")
    page.wait_for_load_state()

    assert page.locator("html").get_attribute("lang") == "hi"
    assert page.get_by_role("heading", level=1).inner_text() == _hindi("Vaccination for everyone")
    assert (
        _hindi("Find a centre") in page.get_by_role("navigation", name=_hindi("Main")).inner_text()
    )
    assert "टेस्टलैंड" in page.title()
    page.screenshot(path=str(output / "home-hi.png"), full_page=True)


def test_it_starts_keyboard_users_at_the_skip_link(server: str, page: Any) -> None:
    page.goto(server + "/")

    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_it_finds_centres_by_district_in_hindi(server: str, page: Any, output: Path) -> None:
    page.context.add_cookies([{"name": "vaxnet_language", "value": "hi", "url": server}])
    page.goto(server + "/centres/")

    page.get_by_label("राज्य या ज़िला").select_option("TS-S-SEA")
    page.get_by_role("button", name=_hindi("Search")).click()
    page.wait_for_url("**region=TS-S-SEA**")

    results = page.locator("#results")
    assert "समुद्र ज़िला" in results.inner_text()
    assert results.get_by_role("link").count() >= 1
    page.screenshot(path=str(output / "directory-hi.png"), full_page=True)
