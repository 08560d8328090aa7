"""Many staff draw on one store at once: it is never overdrawn, and its ledger stays whole."""

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection

from vaxnet.core.errors import DomainError
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import StockMove
from vaxnet.stock.queries import balance, balance_mismatches, ledger_balance
from vaxnet.stock.requisitions import transfer_dispatch
from vaxnet.stock.services import stock_issue, stock_waste

from ..booking.test_appointments import make_session
from .ledger_helpers import NOW, facility_store, make_batch, stocked

CLIENTS = 24
VIALS = 10


def _race(jobs: list[Callable[[], object]]) -> list[str]:
    """Run each job in its own thread and database connection, all at once."""
    results: list[str] = []
    start = threading.Barrier(len(jobs))

    def client(job: Callable[[], object]) -> None:
        try:
            start.wait()
            job()
            results.append("done")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_never_overdraw_the_store(hill_phc: Facility) -> None:
    store = facility_store(hill_phc)
    batch = stocked(store, make_batch("R1"), VIALS * 10)
    sessions = [make_session(hill_phc, on=NOW.date() + timedelta(days=d)) for d in range(1, 5)]

    def issue(n: int) -> Callable[[], object]:
        return lambda: stock_issue(
            by=None, store=store, batch=batch, session=sessions[n % 4], vials=1, now=NOW
        )

    results = _race([issue(n) for n in range(CLIENTS)])

    assert results.count("done") == VIALS
    assert set(results) == {"done", "stock_insufficient"}
    assert balance(store, batch) == ledger_balance(store, batch) == 0
    assert StockMove.objects.filter(kind="issue").count() == VIALS
    assert balance_mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_mixed_concurrent_moves_take_no_more_than_there_is(hill_phc: Facility) -> None:
    store = facility_store(hill_phc)
    district = store.parent
    assert district is not None
    batch = stocked(district, make_batch("R2"), 200)

    def job(n: int) -> Callable[[], object]:
        if n % 3 == 0:
            return lambda: transfer_dispatch(
                by=None, source=district, destination=store, lines={batch: 30}, now=NOW
            )
        if n % 3 == 1:
            return lambda: stock_waste(
                by=None, store=district, batch=batch, doses=20, reason="breakage", now=NOW
            )
        return lambda: stock_waste(
            by=None, store=district, batch=batch, doses=7, reason="open_vial", now=NOW
        )

    results = _race([job(n) for n in range(CLIENTS)])

    taken = -sum(
        StockMove.objects.filter(store=district, doses__lt=0).values_list("doses", flat=True)
    )
    assert set(results) <= {"done", "stock_insufficient"}
    assert results.count("done") == StockMove.objects.filter(store=district, doses__lt=0).count()
    assert 0 <= balance(district, batch) == ledger_balance(district, batch) == 200 - taken
    assert balance_mismatches() == []
