"""Shared makers for the ledger's tests: stores of the TEST country, batches, received stock."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.services import batch_register, stock_receive
from vaxnet.stock.stores import store_for_facility
from vaxnet.vaccines.models import Vaccine

# The booking tests' clock: 9:00 on 2 March 2026 in the TEST country's zone.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))


def facility_store(facility: Facility) -> Store:
    """Return the facility's store (and the district, state and national ones above it)."""
    return store_for_facility(facility=facility, by=None)


def make_batch(
    lot: str, *, vaccine: str = "COVISHIELD", expires_on: date = date(2027, 1, 31)
) -> Batch:
    return batch_register(
        by=None,
        vaccine=Vaccine.objects.get(code=vaccine),
        lot_number=lot,
        manufacturer="Serum Institute",
        expires_on=expires_on,
    )


def stocked(store: Store, batch: Batch, doses: int) -> Batch:
    """Receive the doses of the batch into the store, and return the batch."""
    stock_receive(by=None, store=store, batch=batch, doses=doses, supplier="Maker", now=NOW)
    return batch
