"""A session's day in Tamil: the verifier checks a booked person in, the vaccinator records the
dose, the facility manager closes the session and reads its summary."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT
from tests.servers import server_env

pytestmark = pytest.mark.e2e

PASSWORD = "vaxnet-demo"  # the demo's known development password
PHONE = "+919811122233"

# Run inside the server's database: a session of today at the demo staff's centre, vials of
# its best batch issued to it, and one person booked for it whose ID number the test knows.
SETUP = """
import json
from datetime import time, timedelta
from django.db.models import Sum
from django.utils import timezone
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.booking.services import appointment_book
from vaxnet.core.checksums import verhoeff_digit
from vaxnet.facilities.models import StaffMembership
from vaxnet.people.models import Account
from vaxnet.people.services import beneficiary_add
from vaxnet.stock.models import Balance, Batch
from vaxnet.stock.services import stock_issue
from vaxnet.stock.stores import store_for_facility

now = timezone.now()
today = timezone.localdate(now)
facility = StaffMembership.objects.get(user__username="demo-verifier").facility
store = store_for_facility(facility=facility, by=None)
held = (
    Balance.objects.filter(store=store, doses__gt=0, batch__recalled_at__isnull=True)
    .filter(batch__expires_on__gt=today, batch__vaccine__code__in=["COVISHIELD", "COVAXIN"])
    .values("batch").annotate(doses=Sum("doses")).order_by("-doses").first()
)
batch = Batch.objects.select_related("vaccine").get(pk=held["batch"])
session = session_create(
    by=None, facility=facility, on=today, vaccine=batch.vaccine,
    capacity={1: (10, 5)}, slots=[SlotSpec(time(9), time(17), 10)],
    release_at=now - timedelta(days=3), min_age_years=18,
)
stock_issue(by=None, store=store, batch=batch, session=session, vials=2, now=now)
account, _ = Account.objects.get_or_create(
    country=facility.country, phone="%(phone)s", defaults={"language": "ta"}
)
body = "7%(seed)010d"
number = body + verhoeff_digit(body)
person = beneficiary_add(
    account=account, name="Kavya Iyer", sex="female", birth_year=today.year - 34,
    id_type_code="aadhaar", id_number=number,
)
(appointment,) = appointment_book(
    beneficiaries=[person], session=session, slot=session.slots.get(), now=now - timedelta(days=1)
)
print(json.dumps({
    "session": session.public_id, "appointment": appointment.public_id,
    "reference": person.reference, "id_number": number, "code": appointment.security_code,
    "lot": batch.lot_number, "doses_per_vial": batch.doses_per_vial,
}))
"""


@pytest.fixture
def booked(server: str, server_var: Path, sms_file: Path) -> dict[str, Any]:
    """Book a person for a new session of today at the demo centre; return what the desk needs."""
    code = SETUP % {"phone": PHONE, "seed": 4242}
    env = server_env(server_var, VAXNET_SMS_FILE=str(sms_file))
    done = subprocess.run(
        [sys.executable, "-m", "vaxnet.cli", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _sign_in(page: Any, server: str, username: str) -> None:
    page.goto(server + "/staff/sign-in/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/sign-in/" not in url)


def _sign_out(page: Any) -> None:
    page.locator(".account-bar form button[type=submit]").click()
    page.wait_for_url("**/sign-in/**")


def _in_tamil(page: Any) -> None:
    assert page.locator("html").get_attribute("lang") == "ta"


def _fits_width(page: Any) -> None:
    """Assert that nothing in the page's main part reaches past the phone's screen.

    Wide tables scroll within their own box; the site header is the base template's.
    """
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')]"
        ".filter(e => !e.closest('.overflow-auto'))"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
    )
    assert not wide, f"wider than the screen: {wide}"


def test_it_runs_a_session_day_in_tamil(
    server: str, page: Any, booked: dict[str, Any], output: Path
) -> None:
    session, appointment = booked["session"], booked["appointment"]
    shots = output

    # Choose Tamil with the site's language form, as a user would.
    page.goto(server + "/staff/sign-in/")
    page.locator("#language-select").select_option("ta")
    page.locator(".language-form button[type=submit]").click()
    page.wait_for_load_state()
    _in_tamil(page)

    # The verifier finds today's session, then the person by reference number.
    _sign_in(page, server, "demo-verifier")
    page.goto(server + "/staff/day/")
    _in_tamil(page)
    page.screenshot(path=str(shots / "day-0-today.png"), full_page=True)
    page.locator(f"a[href='/staff/day/sessions/{session}/']").click()
    page.wait_for_url(f"**/staff/day/sessions/{session}/")
    search = page.get_by_role("search")
    search.get_by_role("searchbox").fill(booked["reference"])
    search.locator("button[type=submit]").click()
    person = page.locator(f"#person-{appointment}")
    person.wait_for()
    assert page.locator("article.person").count() == 1
    page.screenshot(path=str(shots / "day-1-desk.png"), full_page=True)
    _fits_width(page)

    # A wrong code is refused beside its field; the right code and ID number check in.
    wrong = "0000" if booked["code"] != "0000" else "1111"
    person.locator(f"#id_{appointment}-security_code").fill(wrong)
    person.locator(f"#id_{appointment}-id_number").fill(booked["id_number"])
    person.locator("button[type=submit]").click()
    alert = page.locator(f"#person-{appointment} .error-summary[role=alert]")
    alert.wait_for()
    assert alert.locator(f"a[href='#id_{appointment}-security_code']").count() == 1
    page.screenshot(path=str(shots / "day-2-refused.png"), full_page=True)
    person = page.locator(f"#person-{appointment}")
    person.locator(f"#id_{appointment}-security_code").fill(booked["code"])
    person.locator(f"#id_{appointment}-id_number").fill(booked["id_number"])
    person.locator("button[type=submit]").click()
    page.locator(f"#person-{appointment} [role=status]").wait_for()
    assert page.locator(f"#person-{appointment} form.check-in").count() == 0
    assert page.locator(f"#person-{appointment} .status-checked_in").count() == 1
    page.screenshot(path=str(shots / "day-3-checked-in.png"), full_page=True)
    _sign_out(page)

    # The vaccinator records the dose from the first batch offered, in the left arm.
    _sign_in(page, server, "demo-vaccinator")
    page.goto(server + f"/staff/day/sessions/{session}/queue/")
    _in_tamil(page)
    row = page.locator(f"#queue-{appointment}")
    row.wait_for()
    batch = row.locator(f"#id_r{appointment}-batch")
    assert batch.locator("option").first.get_attribute("selected") is not None
    row.locator(f"#id_r{appointment}-site").select_option("left_arm")
    page.screenshot(path=str(shots / "day-4-queue.png"), full_page=True)
    _fits_width(page)
    row.locator("form.record button[type=submit]").click()
    page.locator(f"#done-{appointment}").wait_for()
    assert page.locator(f"#queue-{appointment}").count() == 0
    page.screenshot(path=str(shots / "day-5-recorded.png"), full_page=True)
    _sign_out(page)

    # The manager closes the session: one vial opened, the other returned by default.
    _sign_in(page, server, "demo-manager")
    page.goto(server + f"/staff/day/sessions/{session}/close/")
    _in_tamil(page)
    vials = page.locator("#close-vials")
    assert vials.get_by_role("spinbutton").input_value() == "1"
    page.screenshot(path=str(shots / "day-6-close.png"), full_page=True)
    page.locator("#close-form button[type=submit]").click()
    page.wait_for_url(f"**/staff/day/sessions/{session}/summary/")
    _in_tamil(page)
    assert page.locator("#summary-vaccinated").inner_text().strip() == "1"
    cells = page.locator("#summary-batches tbody tr").first.get_by_role("cell")
    wasted = booked["doses_per_vial"] - 1
    assert [cells.nth(i).inner_text().strip() for i in range(4)] == ["1", "1", str(wasted), "1"]
    page.screenshot(path=str(shots / "day-7-summary.png"), full_page=True)
    _fits_width(page)
