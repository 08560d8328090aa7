"""Anyone follows the drive on the dashboard: in Hindi, from the country down to a district."""

import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(tempfile.gettempdir())  # where the screenshots are looked at


def _digits(text: str) -> str:
    return re.sub(r"[^\d.<]", "", text)


def _expected(count: int | None, below: int) -> str:
    """Return a count as the page shows it, separators aside ("<10" when left out)."""
    return f"<{below}" if count is None else str(count)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width}px wide"


def _as_of(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _same_numbers(page: Any, server: str, region: str) -> dict[str, Any]:
    """Return the API's numbers for the region as the page shows them: counted at one time.

    Other tests book and cancel on the same server, and the numbers are folded every few
    seconds: a page and an answer worked out a fold apart may differ. So the page is shown
    again until it is as of the answer's time.
    """
    for _ in range(5):
        answer = page.request.get(server + "/api/v1/dashboard", params={"region": region})
        assert answer.ok
        data: dict[str, Any] = answer.json()
        shown = page.locator("#stat-doses-total .as-of time").get_attribute("datetime")
        if _as_of(shown) == _as_of(data["as_of"]):
            return data
        page.reload()
    raise AssertionError(f"the page stayed as of {shown}, the API as of {data['as_of']}")


def test_it_drills_down_to_a_district_in_hindi(server: str, page: Any, output: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.context.add_cookies([{"name": "vaxnet_language", "value": "hi", "url": server}])
    page.goto(server + "/dashboard/")
    assert page.locator("html").get_attribute("lang") == "hi"
    assert "टेस्टलैंड" in page.get_by_role("heading", level=1).inner_text()

    page.locator(".child-regions").get_by_role("link", name="उत्तर राज्य").click()
    page.wait_for_url("**/dashboard/?region=TS-N")
    page.locator(".child-regions").get_by_role("link", name="पहाड़ी ज़िला").click()
    page.wait_for_url("**/dashboard/?region=TS-N-HIL")

    crumbs = page.locator("nav.breadcrumb")
    assert crumbs.get_by_role("link").all_inner_texts() == ["टेस्टलैंड", "उत्तर राज्य", "पहाड़ी ज़िला"]
    data = _same_numbers(page, server, "TS-N-HIL")
    below = data["suppressed_below"]
    doses = data["doses"]
    for key, count in (
        ("doses-total", doses["total"]),
        ("doses-today", doses["today"]),
        ("doses-in-range", doses["in_range"]),
        ("people-first", data["people"]["first"]),
        ("people-complete", data["people"]["complete"]),
        ("people-booster", data["people"]["booster"]),
        ("aefi-total", data["aefi"]["total"]),
        ("sessions-ongoing", data["sessions"]["ongoing"]),
        ("bookings-booked", data["bookings"]["booked"]),
    ):
        shown = page.locator(f"#stat-{key} .figure").inner_text()
        assert _digits(shown) == _expected(count, below), key
        assert page.locator(f"#stat-{key} .as-of time").count() == 1
    for table, rows in (
        ("doses_by_day", doses["by_day"]),
        ("doses_by_hour_today", doses["by_hour_today"]),
    ):
        cells = page.locator(f"#{table} tbody td.num").all_inner_texts()
        assert [_digits(cell) for cell in cells] == [_expected(r["count"], below) for r in rows]
    # The charts are drawn, each above the table of its numbers.
    assert page.locator("#doses_by_day canvas").is_visible()
    assert page.evaluate("typeof window.Chart") == "function"

    page.locator(".breadcrumb").get_by_role("link", name="उत्तर राज्य").click()
    page.wait_for_url("**/dashboard/?region=TS-N")
    page.wait_for_timeout(500)  # the charts' first drawing
    _no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(500)
    _no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-desktop.png"), full_page=True)
    page.screenshot(path=str(output / "dashboard-desktop.png"), full_page=True)


def test_its_filters_work_without_a_mouse_and_bad_dates_are_refused(server: str, page: Any) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(server + "/dashboard/")
    page.get_by_label("Region", exact=True).select_option("TS-S")
    page.get_by_label("From", exact=True).fill("2026-03-05")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").press("Enter")
    page.wait_for_url("**region=TS-S**")

    assert page.get_by_role("alert").inner_text().count("The first day comes after the last.") == 1
    assert page.get_by_label("From", exact=True).get_attribute("aria-invalid") == "true"
    _no_sideways_scroll(page)
