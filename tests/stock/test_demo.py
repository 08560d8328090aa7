"""`vaxnet demo` stocks the demo centres: supply chain, weeks of use, requisitions, cold chain."""

from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from vaxnet.facilities.models import Facility
from vaxnet.stock.demo import LOT_PREFIX, STOCKED_CENTRES
from vaxnet.stock.models import (
    Balance,
    Batch,
    Equipment,
    Excursion,
    Requisition,
    StockMove,
    Store,
    TemperatureReading,
    Transfer,
)
from vaxnet.stock.queries import balance_mismatches
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 11, 18, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
Kind = StockMove.Kind


def _demo(*args: str) -> str:
    out = StringIO()
    with override_settings(VAXNET_DEV=True), time_machine.travel(NOW, tick=False):
        call_command("demo", "--facilities", "12", "--days", "2", *args, stdout=out)
    return out.getvalue()


def _centres() -> list[Facility]:
    return list(Facility.objects.filter(code__startswith="DEMO-").order_by("code"))


def _snapshot() -> dict[str, Any]:
    moves = StockMove.objects.filter(batch__lot_number__startswith=LOT_PREFIX).order_by(
        "at", "store__name", "batch__lot_number", "kind", "doses"
    )
    return {
        "batches": list(
            Batch.objects.filter(lot_number__startswith=LOT_PREFIX)
            .order_by("lot_number")
            .values_list("vaccine__code", "lot_number", "expires_on", "doses_per_vial")
        ),
        "moves": list(
            moves.values_list("store__name", "batch__lot_number", "kind", "reason", "doses", "at")
        ),
        "requisitions": sorted(Requisition.objects.values_list("requester__name", "status")),
        "readings": TemperatureReading.objects.aggregate(Sum("celsius"))["celsius__sum"],
    }


def test_it_stocks_the_first_centres_down_the_supply_chain() -> None:
    out = _demo()

    centres = _centres()[:STOCKED_CENTRES]
    for centre in centres:
        held = Balance.objects.filter(store__facility=centre).aggregate(d=Sum("doses"))["d"]
        assert held and held > 0, centre.code
    transfers = Transfer.objects.all()
    assert transfers.filter(status=Transfer.Status.IN_TRANSIT).count() == 0
    assert transfers.filter(status=Transfer.Status.DISCREPANCY).count() == 1
    levels = set(transfers.values_list("destination__level", flat=True))
    assert levels == {Store.Level.STATE, Store.Level.DISTRICT, Store.Level.FACILITY}
    assert balance_mismatches() == []
    assert "Stock: " in out


def test_it_keeps_at_the_national_store_what_it_did_not_send() -> None:
    _demo()

    national = Store.objects.get(level=Store.Level.NATIONAL, region__country__code="TEST")
    moves = StockMove.objects.filter(store=national)
    received = moves.filter(kind=Kind.RECEIPT).aggregate(d=Sum("doses"))["d"]
    sent = -moves.filter(kind=Kind.DISPATCH).aggregate(d=Sum("doses"))["d"]
    held = Balance.objects.filter(store=national).aggregate(d=Sum("doses"))["d"]
    assert received > sent > 0
    assert held == received - sent


def test_it_registers_two_or_three_lots_per_vaccine_one_expiring_soon() -> None:
    _demo()

    today = NOW.date()
    for vaccine in Vaccine.objects.filter(country__code="TEST", active=True):
        lots = list(Batch.objects.filter(vaccine=vaccine).order_by("expires_on"))
        assert 2 <= len(lots) <= 3
        assert lots[0].expires_on < today + timedelta(days=45)
        assert lots[-1].expires_on > today + timedelta(days=90)
        assert all(lot.doses_per_vial == vaccine.doses_per_vial for lot in lots)


def test_it_records_weeks_of_doses_given_and_wastage_at_the_store_keepers_centre() -> None:
    _demo()

    store = Store.objects.get(facility=_centres()[0])
    moves = StockMove.objects.filter(store=store)
    given = moves.filter(kind=Kind.CONSUMPTION)
    days = {timezone.localtime(at).date() for at in given.values_list("at", flat=True)}
    assert len(days) >= 15
    assert min(days) <= NOW.date() - timedelta(days=20)
    assert StockMove.objects.filter(kind=Kind.WASTAGE, reason=StockMove.Reason.OPEN_VIAL).exists()
    assert StockMove.objects.filter(kind=Kind.WASTAGE, reason=StockMove.Reason.BREAKAGE).exists()
    statuses = set(Requisition.objects.filter(requester=store).values_list("status", flat=True))
    assert {Requisition.Status.RECEIVED, Requisition.Status.REQUESTED} <= statuses
    assert Requisition.objects.filter(status=Requisition.Status.REJECTED).exists()
    assert Equipment.objects.filter(store=store).exists()
    assert Excursion.objects.filter(equipment__store=store).count() == 1
    assert TemperatureReading.objects.filter(equipment__store=store).count() >= 3 * 48


def test_it_gives_the_same_stock_for_the_same_seed() -> None:
    _demo("--seed", "5")
    first = _snapshot()

    _demo("--seed", "5", "--reset")

    assert _snapshot() == first
    assert balance_mismatches() == []


def test_it_removes_the_demos_stock_with_reset() -> None:
    _demo()

    _demo("--seed", "2", "--reset")

    # Only the new demo's stock is left: none of the old one's beside it.
    assert Facility.objects.filter(code__startswith="DEMO-").count() == 12
    for vaccine in Vaccine.objects.filter(country__code="TEST", active=True):
        assert 2 <= Batch.objects.filter(vaccine=vaccine).count() <= 3
    assert Requisition.objects.count() == 4
    assert Transfer.objects.filter(status=Transfer.Status.DISCREPANCY).count() == 1
    assert Equipment.objects.count() == STOCKED_CENTRES + 1
    assert Excursion.objects.count() == 1
    assert Store.objects.filter(level=Store.Level.FACILITY).count() == Facility.objects.count()
    assert balance_mismatches() == []
