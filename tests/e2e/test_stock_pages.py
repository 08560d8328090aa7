"""A store keeper receives a new batch, records a broken vial, and reads the store in Hindi."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

pytestmark = pytest.mark.e2e

# The demo's store keeper of its first centre (vaxnet demo: STAFF and DEMO_PASSWORD).
KEEPER = "demo-storekeeper"
PASSWORD = "vaxnet-demo"  # the demo's known development password
VACCINE = "COVAXIN"  # vials of 20 doses in the TEST pack
VIAL = 20
LOT = "E2E-STOCK-1"


def _hindi(text: str) -> str:
    with translation.override("hi"):
        translated = translation.gettext(text)
    assert translated != text, f"no Hindi translation for {text!r}: compile the catalogues"
    return translated


def _doses(page: Any) -> str:
    """Return the doses the stock-on-hand table shows for the new batch."""
    row = page.get_by_role("row").filter(has_text=LOT)
    assert row.count() == 1, f"the stock table has {row.count()} rows for lot {LOT}"
    return str(row.get_by_role("cell").nth(3).inner_text()).strip()


def test_it_receives_and_wastes_stock_then_reads_the_store_in_hindi(
    server: str, page: Any, output: Path
) -> None:
    # Sign in as the store keeper and open the centre's store from the stock home.
    page.goto(server + "/staff/sign-in/")
    page.get_by_label("User name").fill(KEEPER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/sign-in/" not in url)
    page.goto(server + "/stock/")
    stores = page.get_by_role("table", name="The stores you look after")
    stores.get_by_role("link").first.click()
    page.wait_for_url("**/stock/stores/*/")
    store_url = page.url
    assert page.get_by_role("heading", level=2, name="Stock on hand").is_visible()

    # Receive ten vials of a new batch from a supplier.
    page.get_by_role("link", name="Receive stock").click()
    page.wait_for_url("**/receive/")
    page.get_by_label("Vaccine of the new batch").select_option(VACCINE)
    page.get_by_label("Lot number").fill(LOT)
    page.get_by_label("Manufacturer").fill("Bharat Biotech")
    expiry = (datetime.now(ZoneInfo("Asia/Kolkata")) + timedelta(days=365)).date().isoformat()
    page.get_by_label("Expiry date").fill(expiry)
    page.get_by_label("Doses received").fill(str(10 * VIAL))
    page.get_by_label("Supplier").fill("State vaccine store")
    page.screenshot(path=str(output / "stock-1-receive.png"), full_page=True)
    page.get_by_role("button", name="Receive", exact=True).click()
    page.wait_for_url(store_url)
    assert f"{10 * VIAL} doses of lot {LOT} received." in page.get_by_role("status").inner_text()
    assert _doses(page) == str(10 * VIAL)

    # A vial breaks: write its doses off.
    page.get_by_role("link", name="Record wastage").click()
    page.wait_for_url("**/waste/")
    page.get_by_label(re.compile(r"^Batch:?$")).select_option(
        label=f"{VACCINE} lot {LOT}, expires {expiry}"
    )
    page.get_by_label("Reason").select_option("breakage")
    page.get_by_label("Doses wasted").fill(str(VIAL))
    page.get_by_role("button", name="Record wastage").click()
    page.wait_for_url(store_url)
    assert f"{VIAL} doses of lot {LOT} written off." in page.get_by_role("status").inner_text()
    assert _doses(page) == str(9 * VIAL)
    page.screenshot(path=str(output / "stock-2-store.png"), full_page=True)

    # Switch to Hindi with the site's language form: the store reads in Hindi.
    page.get_by_label("Language").select_option("hi")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_url(store_url)
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "hi"
    heading = page.get_by_role("heading", level=2, name=_hindi("Stock on hand"), exact=True)
    assert heading.is_visible()
    caption = _hindi("Stock on hand, by vaccine and batch, first to expire first")
    assert page.get_by_role("table", name=caption).is_visible()
    assert _doses(page) == str(9 * VIAL)
    page.screenshot(path=str(output / "stock-3-store-hi.png"), full_page=True)
