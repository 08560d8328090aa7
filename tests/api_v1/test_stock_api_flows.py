"""The v1 stock API for staff: requisitions, sessions' stock, the cold chain, reports, alerts."""

import pytest

from tests.api.factories import NOW
from tests.api_v1.helpers import call, error_code
from tests.api_v1.stock_helpers import stock
from tests.booking.test_appointments import make_session
from tests.stock.fixtures import district as district
from tests.stock.fixtures import phc as phc
from tests.stock.ledger_helpers import make_batch, signed_in, stocked
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Equipment, Requisition, StockMove, Store
from vaxnet.stock.queries import balance

pytestmark = pytest.mark.django_db


def test_it_runs_a_requisition_from_request_to_receipt(
    phc: Store, district: Store, store_keeper: User, district_admin: User
) -> None:
    keeper = signed_in(store_keeper)
    admin = signed_in(district_admin)
    batch = stocked(district, make_batch("REQ-1"), 1000)

    asked = call(
        keeper,
        "post",
        stock(phc, "requisitions"),
        {"lines": [{"vaccine": "COVISHIELD", "doses": 300}]},
    )
    req = asked.json()["id"]
    by_keeper = call(keeper, "post", f"stock/requisitions/{req}/approval", {})
    approved = call(
        admin,
        "post",
        f"stock/requisitions/{req}/approval",
        {"lines": [{"vaccine": "COVISHIELD", "doses": 200}]},
    )
    sent = call(admin, "post", f"stock/requisitions/{req}/dispatch", {})
    received = call(keeper, "post", f"stock/transfers/{sent.json()['id']}/receipt", {})
    shown = call(keeper, "get", f"stock/requisitions/{req}")

    assert asked.status_code == 201, asked.json()
    assert (by_keeper.status_code, error_code(by_keeper)) == (404, "not_found")
    assert approved.json()["lines"][0]["doses_approved"] == 200
    assert sent.status_code == 201, sent.json()
    assert received.status_code == 200, received.json()
    assert shown.json()["status"] == Requisition.Status.RECEIVED
    assert shown.json()["transfers"] == [sent.json()["id"]]
    assert (balance(district, batch), balance(phc, batch)) == (800, 200)


def test_it_rejects_a_requisition_and_refuses_to_send_it(
    phc: Store, store_keeper: User, district_admin: User
) -> None:
    admin = signed_in(district_admin)
    asked = call(
        signed_in(store_keeper),
        "post",
        stock(phc, "requisitions"),
        {"lines": [{"vaccine": "COVISHIELD", "doses": 300}]},
    )
    req = asked.json()["id"]

    rejected = call(admin, "post", f"stock/requisitions/{req}/rejection", {"reason": "No stock"})
    sent = call(admin, "post", f"stock/requisitions/{req}/dispatch", {})
    unknown = call(
        signed_in(store_keeper),
        "post",
        stock(phc, "requisitions"),
        {"lines": [{"vaccine": "NOPE", "doses": 1}]},
    )

    assert rejected.json()["status"] == Requisition.Status.REJECTED
    assert (sent.status_code, error_code(sent)) == (400, "requisition_not_approved")
    assert (unknown.status_code, error_code(unknown)) == (400, "vaccine_unavailable")


def test_it_issues_returns_and_closes_a_sessions_stock(
    phc: Store, hill_phc: Facility, store_keeper: User, outsider: User
) -> None:
    keeper = signed_in(store_keeper)
    batch = stocked(phc, make_batch("SES-1"), 100)
    session = make_session(hill_phc)
    vials = {"session": session.public_id, "batch": batch.public_id}

    issued = call(keeper, "post", stock(phc, "issues"), {**vials, "vials": 5})
    too_many = call(keeper, "post", stock(phc, "issues"), {**vials, "vials": 6})
    returned = call(keeper, "post", stock(phc, "returns"), {**vials, "vials": 1})
    path = f"stock/sessions/{session.public_id}/stock-close"
    hidden = call(signed_in(outsider), "post", path, {"doses_given": []})
    closed = call(keeper, "post", path, {"doses_given": [{"batch": batch.public_id, "doses": 35}]})
    again = call(keeper, "post", path, {"doses_given": []})

    assert issued.status_code == 201, issued.json()
    assert issued.json()["balance"] == 50
    assert (too_many.status_code, error_code(too_many)) == (400, "stock_insufficient")
    assert returned.json()["balance"] == 60
    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")
    assert closed.status_code == 200, closed.json()
    assert closed.json()["batches"][0]["doses_wasted"] == 5
    assert (again.status_code, error_code(again)) == (400, "session_stock_closed")
    assert StockMove.objects.filter(session=session, kind="consumption").get().doses == -35
    assert balance(phc, batch) == 60


def test_it_adds_equipment_records_a_reading_and_acknowledges_the_excursion(
    phc: Store, store_keeper: User, outsider: User
) -> None:
    keeper = signed_in(store_keeper)
    body = {"kind": "ilr", "label": "ILR 1"}

    added = call(keeper, "post", stock(phc, "equipment"), body, key="add-1")
    replayed = call(keeper, "post", stock(phc, "equipment"), body, key="add-1")
    equipment_id = added.json()["id"]
    at = NOW.isoformat()
    hidden = call(
        signed_in(outsider),
        "post",
        f"stock/equipment/{equipment_id}/readings",
        {"at": at, "celsius": -2},
    )
    read = call(
        keeper, "post", f"stock/equipment/{equipment_id}/readings", {"at": at, "celsius": -2}
    )
    excursion_id = read.json()["excursions"][0]["id"]
    acknowledged = call(keeper, "post", f"stock/excursions/{excursion_id}/acknowledgement")
    again = call(keeper, "post", f"stock/excursions/{excursion_id}/acknowledgement")

    assert added.status_code == 201, added.json()
    assert added.json()["key"]
    assert replayed.json() == {**added.json(), "key": None}
    assert Equipment.objects.filter(store=phc).count() == 1
    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")
    assert read.status_code == 201, read.json()
    assert read.json()["excursions"][0]["kind"] == "freeze"
    assert acknowledged.json()["excursion"]["acknowledged_at"] is not None
    assert (again.status_code, error_code(again)) == (400, "excursion_acknowledged")


def test_it_reports_within_the_staff_members_scope(
    phc: Store, district: Store, store_keeper: User, district_admin: User
) -> None:
    batch = stocked(phc, make_batch("REP-1", expires_on=NOW.date()), 100)
    stocked(district, batch, 500)
    keeper = signed_in(store_keeper)

    on_hand = call(keeper, "get", "stock/reports/on-hand")
    admin = call(
        signed_in(district_admin), "get", "stock/reports/on-hand", {"store": district.public_id}
    )
    hidden = call(keeper, "get", "stock/reports/on-hand", {"store": district.public_id})
    answers = [
        call(keeper, "get", f"stock/reports/{name}")
        for name in ("in-transit", "consumption", "wastage", "days-of-supply")
    ]
    backwards = call(
        keeper, "get", "stock/reports/wastage", {"date_from": "2026-03-02", "date_to": "2026-03-01"}
    )
    alerts = call(keeper, "get", "stock/alerts")

    assert [(row["store"]["id"], row["doses"]) for row in on_hand.json()["rows"]] == [
        (phc.public_id, 100)
    ]
    assert [row["store"]["id"] for row in admin.json()["rows"]] == [district.public_id]
    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")
    assert all(answer.status_code == 200 for answer in answers), [a.json() for a in answers]
    assert answers[1].json()["date_to"] == "2026-03-02"
    assert answers[3].json()["rows"][0]["on_hand"] == 100
    assert (backwards.status_code, error_code(backwards)) == (422, "period_invalid")
    assert {(a["kind"], a["store"]["id"]) for a in alerts.json()["alerts"]} == {
        ("near_expiry", phc.public_id)
    }
