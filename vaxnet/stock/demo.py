"""The demo's stock: batches, their way down the supply chain, weeks of use, cold-chain logs.

Built through the stock services only, in the order things happened (the services judge
balances as they are when called), and drawn from the demo's seeded generator, so a seed
always gives the same stock. Demo batches are known by their lot number's prefix.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.stock.coldchain import equipment_add, readings_ingest
from vaxnet.stock.models import (
    Balance,
    Batch,
    Equipment,
    Excursion,
    PendingAdjustment,
    Requisition,
    StockMove,
    Store,
    TemperatureReading,
    Transfer,
)
from vaxnet.stock.requisitions import (
    requisition_approve,
    requisition_create,
    requisition_dispatch,
    requisition_reject,
    transfer_dispatch,
    transfer_receive,
)
from vaxnet.stock.services import Reason, batch_register, stock_consume, stock_receive, stock_waste
from vaxnet.stock.stores import store_for_facility, stores_set_up
from vaxnet.vaccines.models import Vaccine

LOT_PREFIX = "DEMO-"
# Only the first centres get stock and history: enough to show, few enough to stay fast.
STOCKED_CENTRES = 6
HISTORY_DAYS = 21
# Stock arrives at the national store this long ago, then a level further down every 2 days.
FIRST_RECEIPT_DAYS = 35
READING_DAYS = 3
READING_STEP = timedelta(minutes=30)
REFRIGERATORS = [("Vestfrost", "MK 304"), ("Haier", "HBC-240"), ("Dulas", "VC150SDD")]


@dataclass(frozen=True)
class StockSummary:
    """What the demo's stock holds: counts for the command's summary."""

    stores: int
    batches: int
    transfers: int
    moves: int
    requisitions: int
    equipment: int


class StockDemo:
    """Stocks the demo centres through the services, drawing every choice from one generator."""

    def __init__(
        self,
        *,
        country: Country,
        centres: Sequence[Facility],
        vaccines: Sequence[Vaccine],
        rng: random.Random,
        now: datetime,
        keeper: User,
        district_admin: User,
        admin: User,
    ) -> None:
        self.country = country
        self.centres = list(centres)[:STOCKED_CENTRES]
        self.vaccines = sorted(vaccines, key=lambda v: v.code)
        self.rng = rng
        self.now = now
        self.today = timezone.localdate(now)
        self.keeper = keeper
        self.district_admin = district_admin
        self.admin = admin
        self.on_the_way: Transfer | None = None
        self.held: dict[int, dict[Batch, int]] = {}

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """Return that local time of the day as an aware datetime."""
        return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())

    def build(self) -> StockSummary:
        """Set up the stores, then stock the first centres in the order things happened."""
        stores_set_up(country=self.country, by=None)
        stores = [store_for_facility(facility=c, by=None) for c in self.centres]
        batches = self.batches()
        self.supply(stores, batches)
        self.history(stores)
        self.cold_chain(stores)
        return summary(self.country)

    # --- batches and the way down ----------------------------------------------------------

    def batches(self) -> dict[Vaccine, list[Batch]]:
        """Register 2-3 lots of each vaccine, the first expiring within weeks."""
        found = {}
        for vaccine in self.vaccines:
            lots = []
            for number in range(self.rng.choice([2, 3])):
                months = 0 if number == 0 else self.rng.randint(4 * number, 6 * number + 6)
                expires = self.today + timedelta(days=self.rng.randint(18, 40) + 30 * months)
                lot = f"{LOT_PREFIX}{self.rng.randint(1000, 9999)}{chr(65 + number)}"
                lots.append(
                    batch_register(
                        by=None,
                        vaccine=vaccine,
                        lot_number=lot,
                        manufacturer=vaccine.manufacturer,
                        expires_on=expires,
                    )
                )
            found[vaccine] = lots
        return found

    def supply(self, centres: list[Store], batches: dict[Vaccine, list[Batch]]) -> None:
        """Receive the lots at the national store and send them down to the stocked centres."""
        chains = [self._chain(store) for store in centres]
        depth = {store.pk: index for chain in chains for index, store in enumerate(chain)}
        stores = {store.pk: store for chain in chains for store in chain}
        children: dict[int, list[Store]] = {}
        for chain in chains:
            for upper, lower in pairwise(chain):
                kids = children.setdefault(upper.pk, [])
                if lower not in kids:
                    kids.append(lower)
        # Vials of each batch each store is sent: a centre's for three weeks, little of the
        # lot about to expire; a store above, what its children get and a reserve of its own.
        wanted: dict[int, dict[Batch, int]] = {}
        for store in centres:
            wanted[store.pk] = {}
            for lots in batches.values():
                for index, batch in enumerate(lots[:2]):
                    doses = self.rng.randint(120, 200) if index == 0 else self.rng.randint(350, 500)
                    wanted[store.pk][batch] = math.ceil(doses / batch.doses_per_vial)
        for pk in sorted(children, key=lambda pk: -depth[pk]):
            total: dict[Batch, int] = {}
            for kid in children[pk]:
                for batch, vials in wanted[kid.pk].items():
                    total[batch] = total.get(batch, 0) + vials
            for lots in batches.values():
                for batch in lots:
                    reserve = self.rng.randint(20, 60) * (4 if depth[pk] == 0 else 1)
                    total[batch] = total.get(batch, 0) + reserve
            wanted[pk] = total
        national = chains[0][0]
        start = self.today - timedelta(days=FIRST_RECEIPT_DAYS)
        for batch, vials in wanted[national.pk].items():
            stock_receive(
                by=None,
                store=national,
                batch=batch,
                doses=vials * batch.doses_per_vial,
                supplier=batch.manufacturer or batch.vaccine.name,
                now=self.at(start, 11),
            )
        discrepancy = centres[0]
        for pk in sorted(children, key=lambda pk: depth[pk]):
            day = start + timedelta(days=2 * depth[pk] + 2)
            upper = stores[pk]
            for lower in children[pk]:
                lines = {b: v * b.doses_per_vial for b, v in wanted[lower.pk].items()}
                transfer = transfer_dispatch(
                    by=None, source=upper, destination=lower, lines=lines, now=self.at(day, 10)
                )
                received = self.at(day + timedelta(days=1), self.rng.randint(9, 15))
                if lower.pk != discrepancy.pk:
                    transfer_receive(by=None, transfer=transfer, now=received)
                    continue
                # One vial broken on the way and one missing: a small discrepancy.
                batch = min(lines, key=lambda b: b.pk)
                size = batch.doses_per_vial
                transfer_receive(
                    by=self.keeper,
                    transfer=transfer,
                    received={b: d - (2 * size if b == batch else 0) for b, d in lines.items()},
                    damaged={batch: size},
                    now=received,
                )

    @staticmethod
    def _chain(store: Store) -> list[Store]:
        """Return the stores from the national one down to this one."""
        chain = [store]
        while chain[0].parent_id is not None:
            parent = Store.objects.get(pk=chain[0].parent_id)
            chain.insert(0, parent)
        return chain

    def _by(self, store: Store) -> User | None:
        return self.keeper if store.facility_id == self.centres[0].pk else None

    # --- weeks of use ------------------------------------------------------------------------

    def history(self, stores: list[Store]) -> None:
        """Give doses every day at the stocked centres, with wastage and requisitions."""
        first = stores[0]
        for store in stores:
            self._load(store)
        events = {
            HISTORY_DAYS - 3: lambda: self._breakage(stores[-1]),
            13: lambda: self._requisition_sent(first),
            12: lambda: self._requisition_received(),
            5: lambda: self._requisition_rejected(stores[1] if len(stores) > 1 else first),
            2: lambda: self._requisition_approved(first),
        }
        for back in range(HISTORY_DAYS, 0, -1):
            day = self.today - timedelta(days=back)
            if back in events:
                events[back]()
            for store, centre in zip(stores, self.centres, strict=True):
                if day.weekday() == 6 and centre.kind == "public":
                    continue
                for vaccine in self.vaccines:
                    self._day_of(store, vaccine, day)
        requisition_create(
            by=self.keeper,
            requester=first,
            lines={v: self._ask(v) for v in self.vaccines[:2]},
            note=_("For next week's sessions."),
            now=self.now - timedelta(hours=2),
        )

    def _load(self, store: Store) -> None:
        """Read what the store holds, to give from it without a query per dose."""
        rows = Balance.objects.filter(store=store, doses__gt=0).select_related("batch")
        self.held[store.pk] = {row.batch: row.doses for row in rows}

    def _fefo(self, store: Store, vaccine: Vaccine, day: date) -> list[Batch]:
        """Return the store's usable batches of the vaccine, first to expire first."""
        usable = [
            batch
            for batch, doses in self.held[store.pk].items()
            if batch.vaccine_id == vaccine.pk and doses > 0 and not batch.is_expired(on=day)
        ]
        return sorted(usable, key=lambda batch: (batch.expires_on, batch.lot_number))

    def _day_of(self, store: Store, vaccine: Vaccine, day: date) -> None:
        """Give a day's doses of the vaccine, first to expire first; waste what a vial has left."""
        want = self.rng.randint(3, 14)
        waste = self.rng.randint(1, vaccine.doses_per_vial - 1) if vaccine.doses_per_vial > 1 else 0
        wasted = self.rng.random() < 0.3
        moment = self.at(day, 16, self.rng.randint(0, 59))
        held = self.held[store.pk]
        last = None
        for batch in self._fefo(store, vaccine, day):
            take = min(held[batch], want)
            stock_consume(by=self._by(store), store=store, batch=batch, doses=take, now=moment)
            held[batch] -= take
            want -= take
            last = batch
            if want == 0:
                break
        if last is not None and wasted and waste and held[last] >= waste:
            stock_waste(
                by=self._by(store),
                store=store,
                batch=last,
                doses=waste,
                reason=Reason.OPEN_VIAL,
                now=moment + timedelta(minutes=30),
            )
            held[last] -= waste

    def _breakage(self, store: Store) -> None:
        """Drop one vial of the store's first batch: breakage."""
        day = self.today - timedelta(days=HISTORY_DAYS - 3)
        for vaccine in self.vaccines:
            for batch in self._fefo(store, vaccine, day):
                if self.held[store.pk][batch] >= batch.doses_per_vial:
                    stock_waste(
                        by=self._by(store),
                        store=store,
                        batch=batch,
                        doses=batch.doses_per_vial,
                        reason=Reason.BREAKAGE,
                        note=_("Vial dropped while unpacking."),
                        now=self.at(day, 9, 30),
                    )
                    self.held[store.pk][batch] -= batch.doses_per_vial
                    return

    def _ask(self, vaccine: Vaccine) -> int:
        return self.rng.randint(10, 25) * vaccine.doses_per_vial

    def _requisition_sent(self, store: Store) -> None:
        day = self.today - timedelta(days=13)
        requisition = requisition_create(
            by=self.keeper,
            requester=store,
            lines={v: self._ask(v) for v in self.vaccines},
            note=_("Stock for the school drive."),
            now=self.at(day, 9),
        )
        requisition_approve(by=self.district_admin, requisition=requisition, now=self.at(day, 12))
        transfer = requisition_dispatch(by=None, requisition=requisition, now=self.at(day, 15))
        self.on_the_way = transfer

    def _requisition_received(self) -> None:
        day = self.today - timedelta(days=12)
        if self.on_the_way is not None:
            transfer_receive(by=self.keeper, transfer=self.on_the_way, now=self.at(day, 10))
            self._load(self.on_the_way.destination)
            self.on_the_way = None

    def _requisition_rejected(self, store: Store) -> None:
        day = self.today - timedelta(days=5)
        requisition = requisition_create(
            by=self._by(store),
            requester=store,
            lines={self.vaccines[0]: self._ask(self.vaccines[0]) * 4},
            now=self.at(day, 10),
        )
        requisition_reject(
            by=self.district_admin,
            requisition=requisition,
            reason=_("The store holds enough for a month."),
            now=self.at(day, 14),
        )

    def _requisition_approved(self, store: Store) -> None:
        day = self.today - timedelta(days=2)
        asked = {v: self._ask(v) for v in self.vaccines[:2]}
        requisition = requisition_create(
            by=self.keeper, requester=store, lines=asked, now=self.at(day, 9)
        )
        # Approved in part: half of the first vaccine, in whole vials.
        vaccine = self.vaccines[0]
        part = {
            **asked,
            vaccine: asked[vaccine] // (2 * vaccine.doses_per_vial) * vaccine.doses_per_vial,
        }
        requisition_approve(
            by=self.district_admin,
            requisition=requisition,
            approved=part,
            now=self.at(day + timedelta(days=1), 11),
        )

    # --- cold chain --------------------------------------------------------------------------

    def cold_chain(self, stores: list[Store]) -> None:
        """Put a logged refrigerator in each stocked store, one short excursion at the first."""
        start = (self.now - timedelta(days=READING_DAYS)).replace(second=0, microsecond=0)
        start -= timedelta(minutes=start.minute % 30)
        count = int((self.now - start) / READING_STEP)
        for index, store in enumerate(stores):
            make, model = self.rng.choice(REFRIGERATORS)
            fridge, _key = equipment_add(
                store=store,
                kind=Equipment.Kind.ICE_LINED_REFRIGERATOR,
                label="ILR-1",
                make=make,
                model=model,
                by=self._by(store) or self.admin,
            )
            # A power cut two days ago: 90 minutes above 8 °C at the first centre.
            cut = count - 2 * 48 + self.rng.randint(-6, 6) if index == 0 else -10
            readings = []
            for step in range(count):
                celsius = 4.5 + self.rng.uniform(-1.2, 1.8)
                if cut <= step < cut + 3:
                    celsius = 8.6 + (step - cut) * 0.9
                readings.append((start + step * READING_STEP, Decimal(f"{celsius:.1f}")))
            readings_ingest(equipment=fridge, readings=readings)
            if index == 0:
                equipment_add(
                    store=store,
                    kind=Equipment.Kind.VACCINE_CARRIER,
                    label="VC-1",
                    make="Blowkings",
                    by=self._by(store) or self.admin,
                )


def summary(country: Country) -> StockSummary:
    """Count the stock of the country's demo."""
    batches = Batch.objects.filter(vaccine__country=country, lot_number__startswith=LOT_PREFIX)
    return StockSummary(
        stores=Store.objects.filter(region__country=country).count(),
        batches=batches.count(),
        transfers=Transfer.objects.filter(lines__batch__in=batches).distinct().count(),
        moves=StockMove.objects.filter(batch__in=batches).count(),
        requisitions=Requisition.objects.filter(requester__region__country=country).count(),
        equipment=Equipment.objects.filter(store__region__country=country).count(),
    )


def stock_demo_remove(*, country: Country, centres: QuerySet[Facility]) -> None:
    """Delete the demo's stock: all of its batches and of its centres' stores, then those."""
    batches = Batch.objects.filter(vaccine__country=country, lot_number__startswith=LOT_PREFIX)
    stores = Store.objects.filter(facility__in=centres)
    touched = Q(batch__in=batches) | Q(store__in=stores)
    transfer_ids = set(
        Transfer.objects.filter(
            Q(lines__batch__in=batches) | Q(source__in=stores) | Q(destination__in=stores)
        ).values_list("pk", flat=True)
    )
    requisition_ids = set(
        Requisition.objects.filter(
            Q(requester__in=stores) | Q(supplier__in=stores) | Q(transfers__in=transfer_ids)
        ).values_list("pk", flat=True)
    )
    StockMove.objects.filter(touched | Q(transfer__in=transfer_ids)).delete()
    Balance.objects.filter(touched).delete()
    PendingAdjustment.objects.filter(touched).delete()
    Transfer.objects.filter(pk__in=transfer_ids).delete()
    Requisition.objects.filter(pk__in=requisition_ids).delete()
    equipment = Equipment.objects.filter(store__in=stores)
    Excursion.objects.filter(equipment__in=equipment).delete()
    TemperatureReading.objects.filter(equipment__in=equipment).delete()
    equipment.delete()
    stores.delete()
    batches.delete()
