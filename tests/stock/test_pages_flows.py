"""Stock pages between stores and in the cold chain: transfers, requisitions, equipment."""

from datetime import date, timedelta

import pytest

from vaxnet.core.models import User
from vaxnet.stock.coldchain import equipment_add, equipment_for_device_key, reading_record
from vaxnet.stock.models import (
    Equipment,
    Excursion,
    Requisition,
    Store,
    TemperatureReading,
    Transfer,
)
from vaxnet.stock.queries import balance
from vaxnet.stock.requisitions import requisition_create, transfer_dispatch
from vaxnet.vaccines.models import Vaccine

from .ledger_helpers import NOW, make_batch, signed_in, stocked
from .test_pages import text, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _covishield() -> Vaccine:
    return Vaccine.objects.get(code="COVISHIELD")


# --- transfers ------------------------------------------------------------------------------


def test_the_dispatch_form_suggests_the_first_to_expire(
    district: Store, phc: Store, district_admin: User
) -> None:
    late = stocked(district, make_batch("LATE", expires_on=date(2027, 9, 30)), 100)
    early = stocked(district, make_batch("EARLY", expires_on=date(2026, 9, 30)), 100)

    response = signed_in(district_admin).get(
        url(district, "transfers/new"), {"vaccine": "COVISHIELD", "doses": "120"}
    )

    page = text(response)
    assert response.status_code == 200
    assert f'name="line_{early.public_id}" value="100"' in page
    assert f'name="line_{late.public_id}" value="20"' in page


def test_it_dispatches_a_transfer_to_a_child_store(
    district: Store, phc: Store, district_admin: User
) -> None:
    batch = stocked(district, make_batch("T-1"), 200)
    client = signed_in(district_admin)

    refused = client.post(
        url(district, "transfers/new"),
        {"destination": phc.public_id, f"line_{batch.public_id}": "15"},
    )
    done = client.post(
        url(district, "transfers/new"),
        {"destination": phc.public_id, f"line_{batch.public_id}": "50"},
    )

    assert refused.status_code == 400
    assert "give whole vials" in text(refused)
    assert done.status_code == 302
    assert balance(district, batch) == 150
    assert Transfer.objects.get().destination == phc


def test_the_store_keeper_receives_a_transfer_line_by_line(
    district: Store, phc: Store, store_keeper: User
) -> None:
    batch = stocked(district, make_batch("T-2"), 200)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 100})
    client = signed_in(store_keeper)
    receive = f"/stock/transfers/{transfer.public_id}/receive/"
    assert "T-2" in text(client.get(url(phc)))
    assert client.get(receive).status_code == 200

    refused = client.post(
        receive, {f"received_{batch.public_id}": "100", f"damaged_{batch.public_id}": "10"}
    )
    assert refused.status_code == 400
    assert "100 doses were sent" in text(refused)
    assert balance(phc, batch) == 0

    done = client.post(
        receive,
        {f"received_{batch.public_id}": "80", f"damaged_{batch.public_id}": "10"},
        follow=True,
    )

    assert "missing or damaged" in text(done)
    assert balance(phc, batch) == 80
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DISCREPANCY


def test_a_transfer_answers_404_off_its_destination(
    district: Store, phc: Store, outsider: User, district_admin: User, store_keeper: User
) -> None:
    batch = stocked(phc, make_batch("T-3"), 100)
    back = transfer_dispatch(by=None, source=phc, destination=district, lines={batch: 50})
    receive = f"/stock/transfers/{back.public_id}/receive/"

    assert signed_in(outsider).get(receive).status_code == 404
    # The store keeper sent it; only the district side receives it.
    assert signed_in(store_keeper).get(receive).status_code == 404
    assert signed_in(district_admin).get(receive).status_code == 200


# --- requisitions ---------------------------------------------------------------------------


def test_the_store_keeper_asks_the_parent_store(phc: Store, store_keeper: User) -> None:
    client = signed_in(store_keeper)

    refused = client.post(url(phc, "requisitions/new"), {"vaccine_COVISHIELD": ""})
    done = client.post(
        url(phc, "requisitions/new"), {"vaccine_COVISHIELD": "300", "note": "Campaign"}
    )

    assert refused.status_code == 400
    assert "Ask for some doses" in text(refused)
    assert done.status_code == 302
    requisition = Requisition.objects.get()
    assert requisition.supplier == phc.parent
    assert [line.doses_requested for line in requisition.lines.all()] == [300]


def test_the_district_admin_approves_in_part_and_dispatches(
    district: Store, phc: Store, district_admin: User, store_keeper: User
) -> None:
    batch = stocked(district, make_batch("Q-1"), 500)
    requisition = requisition_create(by=None, requester=phc, lines={_covishield(): 300})
    admin = signed_in(district_admin)
    page = f"/stock/requisitions/{requisition.public_id}/"
    assert admin.get(page).status_code == 200
    # The asking side sees it, but cannot decide it.
    keeper = signed_in(store_keeper)
    assert keeper.get(page).status_code == 200
    assert keeper.post(page + "approve/", {"vaccine_COVISHIELD": "100"}).status_code == 404

    too_many = admin.post(page + "approve/", {"vaccine_COVISHIELD": "400"})
    assert too_many.status_code == 400
    assert "approve between 0 and the 300 doses" in text(too_many)
    requisition.refresh_from_db()
    assert requisition.status == Requisition.Status.REQUESTED

    approved = admin.post(page + "approve/", {"vaccine_COVISHIELD": "200"}, follow=True)
    assert "The requisition is approved." in text(approved)
    assert "Q-1" in text(approved)

    sent = admin.post(page + "dispatch/")

    assert sent.status_code == 302
    assert balance(district, batch) == 300
    requisition.refresh_from_db()
    assert requisition.status == Requisition.Status.DISPATCHED


def test_the_district_admin_rejects_with_a_reason(
    phc: Store, district_admin: User, outsider: User
) -> None:
    requisition = requisition_create(by=None, requester=phc, lines={_covishield(): 300})
    page = f"/stock/requisitions/{requisition.public_id}/"
    assert signed_in(outsider).get(page).status_code == 404
    admin = signed_in(district_admin)

    blank = admin.post(page + "reject/", {"reason": ""})
    done = admin.post(page + "reject/", {"reason": "No stock this month"})

    assert blank.status_code == 400
    assert done.status_code == 302
    requisition.refresh_from_db()
    assert requisition.status == Requisition.Status.REJECTED


def test_dispatch_without_stock_is_refused_on_the_page(phc: Store, district_admin: User) -> None:
    requisition = requisition_create(by=None, requester=phc, lines={_covishield(): 300})
    admin = signed_in(district_admin)
    page = f"/stock/requisitions/{requisition.public_id}/"
    admin.post(page + "approve/", {"vaccine_COVISHIELD": "300"})

    response = admin.post(page + "dispatch/")

    assert response.status_code == 400
    assert "holds no usable stock" in text(response)
    assert not Transfer.objects.exists()


# --- cold chain -----------------------------------------------------------------------------


def test_it_adds_equipment_and_shows_the_logger_key_once(phc: Store, store_keeper: User) -> None:
    client = signed_in(store_keeper)

    refused = client.post(url(phc, "equipment/new"), {"kind": "refrigerator", "label": " "})
    added = client.post(url(phc, "equipment/new"), {"kind": "refrigerator", "label": "Fridge A"})

    assert refused.status_code == 400
    assert added.status_code == 302
    equipment = Equipment.objects.get()
    assert added["Location"] == url(phc, f"equipment/{equipment.public_id}/key")
    first = text(client.get(added["Location"]))
    key = first.split('id="logger-key" type="text" readonly value="')[1].split('"')[0]
    assert equipment_for_device_key(key) == equipment
    again = text(client.get(added["Location"]))
    assert key not in again
    assert "cannot be shown again" in again
    assert "Fridge A" in text(client.get(url(phc)))


def test_it_records_a_reading_by_hand(phc: Store, store_keeper: User) -> None:
    equipment, _key = equipment_add(store=phc, kind="refrigerator", label="Fridge", by=store_keeper)
    client = signed_in(store_keeper)
    form = url(phc, f"equipment/{equipment.public_id}/readings/new")
    assert client.get(form).status_code == 200

    future = client.post(form, {"at": "2026-03-03T09:00", "celsius": "5"})
    done = client.post(form, {"at": "2026-03-02T08:30", "celsius": "5.5"})

    assert future.status_code == 400
    assert "in the future" in text(future)
    assert done.status_code == 302
    assert TemperatureReading.objects.get().celsius == 5.5


def test_it_acknowledges_an_open_excursion(phc: Store, store_keeper: User, outsider: User) -> None:
    equipment, _key = equipment_add(store=phc, kind="refrigerator", label="Fridge", by=store_keeper)
    reading_record(equipment=equipment, at=NOW - timedelta(hours=1), celsius=-3, by=store_keeper)
    excursion = Excursion.objects.get()
    client = signed_in(store_keeper)
    assert "Freezing" in text(client.get(url(phc)))
    acknowledge = url(phc, f"excursions/{excursion.public_id}/acknowledge")

    assert signed_in(outsider).post(acknowledge).status_code == 404
    done = client.post(acknowledge)
    again = client.post(acknowledge)

    assert done.status_code == 302
    excursion.refresh_from_db()
    assert excursion.acknowledged_by == store_keeper
    assert again.status_code == 400
    assert "already been acknowledged" in text(again)
