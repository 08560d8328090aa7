"""Stock reports: on hand, in transit, consumption, wastage, days of supply; and the alert reads.

Each report takes the stores to cover (a queryset, already cut to the reader's scope), and
the local dates it covers, and returns small rows. Each runs a fixed number of queries: the
ledger and balances are summed by the database, and the stores and vaccines named in the
rows are then fetched in one query each.

"The last 14 days" are the fourteen whole local days before today: a day's consumption is
only known once the day is over, and today's half would lower the average.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone

from vaxnet.countries.models import Country
from vaxnet.facilities.models import REGION_ROLES, Role
from vaxnet.stock.models import Balance, Batch, Excursion, StockMove, Store, Transfer, TransferLine
from vaxnet.vaccines.models import Vaccine

# Who sees a store's reports and alerts: its keepers and the administrators above it.
STOCK_ROLES = frozenset({Role.STORE_KEEPER, *REGION_ROLES})
CONSUMPTION_DAYS = 14
DEFAULT_EXPIRY_ALERT_DAYS = 30
DEFAULT_LOW_STOCK_DAYS = 7

Kind = StockMove.Kind
Reason = StockMove.Reason
_RATE = Decimal("0.0001")
_DAYS = Decimal("0.1")


@dataclass(frozen=True)
class Period:
    """A run of local days, both ends included."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """Return the aware instants the period spans: from its first midnight to the next."""
        return _midnight(self.start), _midnight(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        """Return how many days the period holds."""
        return (self.end - self.start).days + 1


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def consumption_window(today: date) -> Period:
    """Return the days whose consumption makes the average: the 14 whole days before today."""
    return Period(today - timedelta(days=CONSUMPTION_DAYS), today - timedelta(days=1))


def expiry_alert_days(country: Country) -> int:
    """Return the days before expiry from which a batch is flagged (stock.expiry_alert_days)."""
    return int(country.setting("stock", "expiry_alert_days", DEFAULT_EXPIRY_ALERT_DAYS))


def low_stock_days(country: Country) -> int:
    """Return the days of supply under which stock is low (pack: stock.low_stock_days)."""
    return int(country.setting("stock", "low_stock_days", DEFAULT_LOW_STOCK_DAYS))


def rate(part: int, whole: int) -> Decimal | None:
    """Return part / whole to four places, or None when the whole is zero."""
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATE, rounding=ROUND_HALF_UP)


# --- the sums every report is built from -------------------------------------------------------

Key = tuple[int, int]  # (store id, vaccine id)


def _on_hand(stores: QuerySet[Store]) -> dict[Key, int]:
    rows = (
        Balance.objects.filter(store__in=stores, doses__gt=0)
        .values("store_id", "batch__vaccine_id")
        .annotate(doses=Sum("doses"))
    )
    return {(row["store_id"], row["batch__vaccine_id"]): row["doses"] for row in rows}


def _consumed(stores: QuerySet[Store], period: Period) -> dict[Key, int]:
    """Return the doses given per store and vaccine: every CONSUMPTION move, sessions' too."""
    start, end = period.bounds()
    rows = (
        StockMove.objects.filter(store__in=stores, kind=Kind.CONSUMPTION, at__gte=start, at__lt=end)
        .values("store_id", "batch__vaccine_id")
        .annotate(doses=Sum("doses"))
    )
    return {(row["store_id"], row["batch__vaccine_id"]): -row["doses"] for row in rows}


def _named(
    store_ids: Iterable[int], vaccine_ids: Iterable[int]
) -> tuple[dict[int, Store], dict[int, Vaccine]]:
    return (
        Store.objects.select_related("region__country").in_bulk(set(store_ids)),
        Vaccine.objects.in_bulk(set(vaccine_ids)),
    )


def _by_name(store: Store, vaccine: Vaccine) -> tuple[str, str]:
    return (store.name, vaccine.code)


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnHand:
    """A store's doses and whole vials of one batch."""

    store: Store
    vaccine: Vaccine
    batch: Batch
    doses: int
    vials: int


def stock_on_hand(stores: QuerySet[Store]) -> list[OnHand]:
    """Return every batch the stores hold, by store, vaccine and first expiry."""
    balances = (
        Balance.objects.filter(store__in=stores, doses__gt=0)
        .select_related("store", "batch__vaccine")
        .order_by("store__name", "store_id", "batch__vaccine__code", "batch__expires_on")
    )
    return [
        OnHand(row.store, row.batch.vaccine, row.batch, row.doses, row.whole_vials())
        for row in balances
    ]


@dataclass(frozen=True)
class InTransit:
    """The doses of a vaccine on their way to a store."""

    destination: Store
    vaccine: Vaccine
    doses: int


def in_transit(stores: QuerySet[Store]) -> list[InTransit]:
    """Return the doses in transit per destination and vaccine, to or from the stores."""
    rows = (
        TransferLine.objects.filter(transfer__status=Transfer.Status.IN_TRANSIT)
        .filter(Q(transfer__destination__in=stores) | Q(transfer__source__in=stores))
        .values("transfer__destination_id", "batch__vaccine_id")
        .annotate(doses=Sum("doses_sent"))
    )
    sums = {
        (row["transfer__destination_id"], row["batch__vaccine_id"]): row["doses"] for row in rows
    }
    named, vaccines = _named((s for s, _v in sums), (v for _s, v in sums))
    found = [InTransit(named[s], vaccines[v], doses) for (s, v), doses in sums.items()]
    return sorted(found, key=lambda row: _by_name(row.destination, row.vaccine))


@dataclass(frozen=True)
class Consumption:
    """The doses of a vaccine a store gave in a period."""

    store: Store
    vaccine: Vaccine
    doses: int


def consumption(stores: QuerySet[Store], period: Period) -> list[Consumption]:
    """Return the doses given per store and vaccine over the period."""
    sums = _consumed(stores, period)
    named, vaccines = _named((s for s, _v in sums), (v for _s, v in sums))
    found = [Consumption(named[s], vaccines[v], doses) for (s, v), doses in sums.items()]
    return sorted(found, key=lambda row: _by_name(row.store, row.vaccine))


@dataclass(frozen=True)
class Wastage:
    """A store's doses of a vaccine given and wasted in a period, and its wastage rates.

    Each rate is wasted / (given + wasted), open-vial and closed-vial apart.
    """

    store: Store
    vaccine: Vaccine
    given: int
    open_vial: int
    closed_vial: int

    @property
    def open_vial_rate(self) -> Decimal | None:
        """Return the open-vial wastage rate (None: nothing given or wasted)."""
        return rate(self.open_vial, self.given + self.open_vial)

    @property
    def closed_vial_rate(self) -> Decimal | None:
        """Return the closed-vial wastage rate (None: nothing given or wasted)."""
        return rate(self.closed_vial, self.given + self.closed_vial)


def wastage(stores: QuerySet[Store], period: Period) -> list[Wastage]:
    """Return doses given, wasted from open vials and wasted otherwise, per store and vaccine."""
    start, end = period.bounds()
    wasted = Q(kind=Kind.WASTAGE)
    rows = (
        StockMove.objects.filter(store__in=stores, at__gte=start, at__lt=end)
        .filter(Q(kind=Kind.CONSUMPTION) | wasted)
        .values("store_id", "batch__vaccine_id")
        .annotate(
            given=Sum("doses", filter=Q(kind=Kind.CONSUMPTION)),
            open_vial=Sum("doses", filter=wasted & Q(reason=Reason.OPEN_VIAL)),
            closed_vial=Sum("doses", filter=wasted & ~Q(reason=Reason.OPEN_VIAL)),
        )
    )
    sums = {
        (row["store_id"], row["batch__vaccine_id"]): (
            -(row["given"] or 0),
            -(row["open_vial"] or 0),
            -(row["closed_vial"] or 0),
        )
        for row in rows
    }
    named, vaccines = _named((s for s, _v in sums), (v for _s, v in sums))
    found = [Wastage(named[s], vaccines[v], *counts) for (s, v), counts in sums.items()]
    return sorted(found, key=lambda row: _by_name(row.store, row.vaccine))


@dataclass(frozen=True)
class Supply:
    """A store's doses of a vaccine and how many days they last at its recent pace."""

    store: Store
    vaccine: Vaccine
    on_hand: int
    consumed: int  # over the last 14 days

    @property
    def daily(self) -> Decimal:
        """Return the average doses given a day over the last 14 days."""
        return (Decimal(self.consumed) / CONSUMPTION_DAYS).quantize(_DAYS, rounding=ROUND_HALF_UP)

    @property
    def days(self) -> Decimal | None:
        """Return on hand / daily consumption, to a tenth of a day (None: nothing given)."""
        if not self.consumed:
            return None
        exact = Decimal(self.on_hand) * CONSUMPTION_DAYS / Decimal(self.consumed)
        return exact.quantize(_DAYS, rounding=ROUND_HALF_UP)


def days_of_supply(stores: QuerySet[Store], today: date) -> list[Supply]:
    """Return the stock on hand and its days of supply per store and vaccine held or given."""
    held = _on_hand(stores)
    given = _consumed(stores, consumption_window(today))
    keys = set(held) | set(given)
    named, vaccines = _named((s for s, _v in keys), (v for _s, v in keys))
    found = [
        Supply(named[s], vaccines[v], held.get((s, v), 0), given.get((s, v), 0)) for s, v in keys
    ]
    return sorted(found, key=lambda row: _by_name(row.store, row.vaccine))


# --- what the alerts read ----------------------------------------------------------------------


@dataclass(frozen=True)
class StockOut:
    """A vaccine a store held in the last 14 days and holds no more."""

    store: Store
    vaccine: Vaccine
    last_move_at: datetime


def stock_outs(stores: QuerySet[Store], today: date) -> list[StockOut]:
    """Return each store and vaccine with moves in the last 14 days and no dose left now.

    A move in the window means the store held some of the vaccine then (before a move out,
    after a move in); without one, what it holds now is what it held all along.
    """
    start, _end = consumption_window(today).bounds()
    rows = (
        StockMove.objects.filter(store__in=stores, at__gte=start)
        .values("store_id", "batch__vaccine_id")
        .annotate(last=Max("at"))
    )
    moved = {(row["store_id"], row["batch__vaccine_id"]): row["last"] for row in rows}
    held = _on_hand(stores)
    out = {key: last for key, last in moved.items() if key not in held}
    named, vaccines = _named((s for s, _v in out), (v for _s, v in out))
    found = [StockOut(named[s], vaccines[v], last) for (s, v), last in out.items()]
    return sorted(found, key=lambda row: _by_name(row.store, row.vaccine))


def near_expiry(stores: QuerySet[Store], today: date) -> list[OnHand]:
    """Return the batches held that expire within their country's alert days (or have expired)."""
    windows = {
        country.pk: expiry_alert_days(country)
        for country in Country.objects.filter(regions__stores__in=stores).distinct()
    }
    if not windows:
        return []
    latest = today + timedelta(days=max(windows.values()))
    balances = (
        Balance.objects.filter(store__in=stores, doses__gt=0, batch__expires_on__lte=latest)
        .select_related("store__region", "batch__vaccine")
        .order_by("batch__expires_on", "store__name", "batch__lot_number")
    )
    return [
        OnHand(row.store, row.batch.vaccine, row.batch, row.doses, row.whole_vials())
        for row in balances
        if row.batch.expires_on <= today + timedelta(days=windows[row.store.region.country_id])
    ]


def open_excursions(stores: QuerySet[Store]) -> list[Excursion]:
    """Return the excursions of the stores' equipment that nobody has acknowledged yet."""
    return list(
        Excursion.objects.filter(equipment__store__in=stores, acknowledged_at__isnull=True)
        .select_related("equipment__store")
        .order_by("-started_at")
    )
