"""`vaxnet check_stock`: every kept balance is compared with the sum of its moves."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Balance
from vaxnet.stock.queries import balance_mismatches
from vaxnet.stock.services import stock_waste

from .ledger_helpers import facility_store, make_batch, stocked

pytestmark = pytest.mark.django_db


def test_it_passes_when_every_balance_agrees(hill_phc: Facility) -> None:
    store = facility_store(hill_phc)
    batch = stocked(store, make_batch("L1"), 100)
    stock_waste(by=None, store=store, batch=batch, doses=10, reason="breakage")
    out = StringIO()

    call_command("check_stock", stdout=out)

    assert "agrees" in out.getvalue()


def test_it_reports_a_balance_that_disagrees_and_fails(hill_phc: Facility) -> None:
    store = facility_store(hill_phc)
    batch = stocked(store, make_batch("L1"), 100)
    fine = stocked(store, make_batch("L2"), 50)
    Balance.objects.filter(store=store, batch=batch).update(doses=90)
    err = StringIO()

    with pytest.raises(CommandError, match="1 balances disagree"):
        call_command("check_stock", stderr=err)

    assert "kept 90 doses / 10 vials, ledger 100 doses / 10 vials" in err.getvalue()
    assert [(m.batch_id, m.kept_doses, m.ledger_doses) for m in balance_mismatches()] == [
        (batch.pk, 90, 100)
    ]
    assert balance_mismatches(store) and fine.pk not in {m.batch_id for m in balance_mismatches()}


def test_it_finds_moves_whose_balance_row_is_missing(hill_phc: Facility) -> None:
    store = facility_store(hill_phc)
    batch = stocked(store, make_batch("L1"), 100)
    Balance.objects.filter(store=store, batch=batch).delete()

    with pytest.raises(CommandError):
        call_command("check_stock", "--store", store.public_id, stderr=StringIO())
