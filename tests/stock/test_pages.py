"""Stock pages: stores in scope, a store's page, receipts, wastage, counts and their approval."""

from typing import Any

import pytest
from django.test import Client

from vaxnet.core.models import User
from vaxnet.stock.models import Batch, PendingAdjustment, StockMove, Store
from vaxnet.stock.queries import balance
from vaxnet.stock.services import batch_recall, stock_count

from .ledger_helpers import make_batch, signed_in, stocked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def text(response: Any) -> str:
    return str(response.content.decode())


def url(store: Store, action: str = "") -> str:
    return f"/stock/stores/{store.public_id}/{action + '/' if action else ''}"


def test_it_sends_the_anonymous_to_the_staff_sign_in(phc: Store) -> None:
    response = Client().get(url(phc))

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")


def test_it_lists_the_stores_in_scope(
    phc: Store, district: Store, store_keeper: User, district_admin: User
) -> None:
    keeper = text(signed_in(store_keeper).get("/stock/"))
    admin = text(signed_in(district_admin).get("/stock/"))

    assert phc.name in keeper
    assert district.name not in keeper
    assert phc.name in admin
    assert district.name in admin
    assert "Counts waiting for approval" in admin


def test_it_tells_a_role_without_stock_that_it_has_no_stores(outsider: User, phc: Store) -> None:
    response = signed_in(outsider).get("/stock/")

    assert response.status_code == 200
    assert phc.name not in text(response)


def test_it_shows_a_store_with_its_stock_and_marks(phc: Store, store_keeper: User) -> None:
    good = stocked(phc, make_batch("GOOD-1"), 200)
    recalled = stocked(phc, make_batch("BAD-1"), 50)
    batch_recall(by=None, batch=recalled, reason="Contaminated")
    Batch.objects.filter(pk=good.pk).update(vvm_check_due=True)

    response = signed_in(store_keeper).get(url(phc))

    page = text(response)
    assert response.status_code == 200
    assert "GOOD-1" in page and "BAD-1" in page
    assert "Recalled" in page
    assert "Vial monitor check due" in page
    assert '<th scope="col">' in page and "<caption>" in page


@pytest.mark.parametrize(
    "action",
    ["", "receive", "waste", "count", "transfers/new", "requisitions/new", "equipment/new"],
)
def test_it_answers_404_to_the_outsider(phc: Store, outsider: User, action: str) -> None:
    client = signed_in(outsider)

    assert client.get(url(phc, action)).status_code == 404
    assert client.post(url(phc, action), {}).status_code in (404, 405)


def test_it_answers_404_for_a_store_out_of_scope(
    phc: Store, district: Store, store_keeper: User
) -> None:
    assert signed_in(store_keeper).get(url(district)).status_code == 404


def test_it_receives_stock_of_a_registered_batch(phc: Store, store_keeper: User) -> None:
    batch = make_batch("R-1")

    response = signed_in(store_keeper).post(
        url(phc, "receive"), {"batch": batch.public_id, "doses": "100", "supplier": "Maker"}
    )

    assert response.status_code == 302
    assert response["Location"] == url(phc)
    assert balance(phc, batch) == 100
    follow = text(signed_in(store_keeper).get(url(phc)))
    assert "R-1" in follow


def test_it_registers_a_new_batch_with_the_stock_received(phc: Store, store_keeper: User) -> None:
    client = signed_in(store_keeper)
    form = {
        "vaccine": "COVISHIELD",
        "lot_number": "NEW-7",
        "manufacturer": "Serum Institute",
        "expires_on": "2027-06-30",
        "doses": "50",
        "supplier": "Maker",
    }

    response = client.post(url(phc, "receive"), form, follow=True)

    batch = Batch.objects.get(lot_number="NEW-7")
    assert balance(phc, batch) == 50
    assert "50 doses of lot NEW-7 received." in text(response)


def test_it_refuses_part_vials_beside_the_field_and_registers_nothing(
    phc: Store, store_keeper: User
) -> None:
    form = {
        "vaccine": "COVISHIELD",
        "lot_number": "NEW-8",
        "expires_on": "2027-06-30",
        "doses": "15",
        "supplier": "Maker",
    }

    response = signed_in(store_keeper).post(url(phc, "receive"), form)

    assert response.status_code == 400
    assert "give whole vials" in text(response)
    assert 'id="id_doses_error"' in text(response)
    assert not Batch.objects.filter(lot_number="NEW-8").exists()


def test_it_records_wastage_and_refuses_more_than_held(phc: Store, store_keeper: User) -> None:
    batch = stocked(phc, make_batch("W-1"), 100)
    client = signed_in(store_keeper)

    refused = client.post(
        url(phc, "waste"), {"batch": batch.public_id, "doses": "200", "reason": "breakage"}
    )
    done = client.post(
        url(phc, "waste"), {"batch": batch.public_id, "doses": "20", "reason": "breakage"}
    )

    assert refused.status_code == 400
    assert "does not hold 200 doses" in text(refused)
    assert done.status_code == 302
    assert balance(phc, batch) == 80
    assert StockMove.objects.filter(kind=StockMove.Kind.WASTAGE).count() == 1


def test_it_offers_only_the_allowed_wastage_reasons(phc: Store, store_keeper: User) -> None:
    batch = stocked(phc, make_batch("W-2"), 100)

    response = signed_in(store_keeper).post(
        url(phc, "waste"), {"batch": batch.public_id, "doses": "10", "reason": "count"}
    )

    assert response.status_code == 400
    assert balance(phc, batch) == 100


def test_it_adjusts_a_small_count_at_once(phc: Store, store_keeper: User) -> None:
    batch = stocked(phc, make_batch("C-1"), 100)

    response = signed_in(store_keeper).post(
        url(phc, "count"),
        {"batch": batch.public_id, "counted_doses": "90", "reason": "Breakage found"},
        follow=True,
    )

    assert balance(phc, batch) == 90
    assert "adjusted by -10 doses" in text(response)


def test_a_large_count_waits_and_the_district_admin_approves_it(
    phc: Store, store_keeper: User, district_admin: User
) -> None:
    batch = stocked(phc, make_batch("C-2"), 500)

    response = signed_in(store_keeper).post(
        url(phc, "count"),
        {"batch": batch.public_id, "counted_doses": "100", "reason": "Missing boxes"},
        follow=True,
    )

    assert "waits for a district administrator" in text(response)
    assert balance(phc, batch) == 500
    pending = PendingAdjustment.objects.get()
    admin = signed_in(district_admin)
    listing = admin.get("/stock/adjustments/")
    assert listing.status_code == 200
    assert pending.public_id in text(listing)

    decided = admin.post(f"/stock/adjustments/{pending.public_id}/decide/", {"decision": "approve"})

    assert decided.status_code == 302
    assert balance(phc, batch) == 100
    pending.refresh_from_db()
    assert pending.status == PendingAdjustment.Status.APPROVED


def test_the_district_admin_cannot_decide_their_own_count(phc: Store, district_admin: User) -> None:
    batch = stocked(phc, make_batch("C-3"), 500)
    outcome = stock_count(
        by=district_admin, store=phc, batch=batch, counted_doses=100, reason="Recount"
    )
    assert outcome.pending is not None

    response = signed_in(district_admin).post(
        f"/stock/adjustments/{outcome.pending.public_id}/decide/", {"decision": "approve"}
    )

    assert response.status_code == 400
    assert "Someone other than the person who counted" in text(response)
    assert balance(phc, batch) == 500


def test_the_adjustments_are_for_administrators_only(
    phc: Store, store_keeper: User, outsider: User
) -> None:
    batch = stocked(phc, make_batch("C-4"), 500)
    pending = stock_count(by=None, store=phc, batch=batch, counted_doses=1, reason="x").pending
    assert pending is not None

    for user in (store_keeper, outsider):
        client = signed_in(user)
        assert client.get("/stock/adjustments/").status_code == 404
        decide = f"/stock/adjustments/{pending.public_id}/decide/"
        assert client.post(decide, {"decision": "approve"}).status_code == 404
    assert balance(phc, batch) == 500


def test_a_post_without_the_csrf_token_is_refused(phc: Store, store_keeper: User) -> None:
    batch = stocked(phc, make_batch("X-1"), 100)
    client = Client(enforce_csrf_checks=True)
    client.force_login(store_keeper)

    response = client.post(
        url(phc, "waste"), {"batch": batch.public_id, "doses": "10", "reason": "breakage"}
    )

    assert response.status_code == 403
    assert balance(phc, batch) == 100


def test_htmx_gets_the_form_alone_and_a_client_redirect(phc: Store, store_keeper: User) -> None:
    batch = stocked(phc, make_batch("H-1"), 100)
    client = signed_in(store_keeper)
    headers = {"HX-Request": "true"}

    refused = client.post(
        url(phc, "waste"), {"batch": batch.public_id, "doses": "0", "reason": "x"}, headers=headers
    )
    done = client.post(
        url(phc, "waste"),
        {"batch": batch.public_id, "doses": "10", "reason": "breakage"},
        headers=headers,
    )

    assert refused.status_code == 400
    assert "<html" not in text(refused)
    assert 'id="stock-form"' in text(refused)
    assert done["HX-Redirect"] == url(phc)
    assert balance(phc, batch) == 90


def test_the_store_page_reads_in_a_fixed_number_of_queries(
    phc: Store, store_keeper: User, django_assert_max_num_queries: Any
) -> None:
    for number in range(5):
        stocked(phc, make_batch(f"Q-{number}"), 100)
    client = signed_in(store_keeper)

    with django_assert_max_num_queries(20):
        response = client.get(url(phc))

    assert response.status_code == 200
