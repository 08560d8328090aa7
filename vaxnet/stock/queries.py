"""Reads across the stock models: balances, the ledger's sums, first-expiry-first-out, transit.

Also the access chokepoints of stores, transfers, requisitions and adjustments: missing and
not-yours answer alike (NotFound).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet, Sum

from vaxnet.core.access import active_memberships
from vaxnet.core.errors import NotFound
from vaxnet.core.models import User
from vaxnet.facilities.models import Role
from vaxnet.stock.models import (
    Balance,
    Batch,
    PendingAdjustment,
    Requisition,
    StockMove,
    Store,
    Transfer,
)
from vaxnet.vaccines.models import Vaccine

# --- access -----------------------------------------------------------------------------------


# A recall applies in every store, so only administrators above a district may make one.
RECALLERS = frozenset({Role.STATE_ADMIN, Role.NATIONAL_ADMIN})


def stores_in_scope(user: User | AnonymousUser, roles: Iterable[str] | None = None) -> Q | None:
    """Return a filter for the stores the user may act on (None: none at all).

    A facility membership covers the facility's store; a store keeper of a region runs
    that region's own store(s); an administrator of a region sees every store within it.
    """
    if user.is_authenticated and user.is_superuser:
        return Q()
    condition: Q | None = None
    for membership in active_memberships(user, roles):
        if membership.facility_id is not None:
            part = Q(facility_id=membership.facility_id)
        elif membership.role == Role.STORE_KEEPER:
            part = Q(region_id=membership.region_id, facility__isnull=True)
        else:
            part = Q(region__path__startswith=membership.scope_path)
        condition = part if condition is None else condition | part
    return condition


def may_recall(user: User | AnonymousUser, store: Store) -> bool:
    """Return whether the user may recall batches held in the store (see RECALLERS)."""
    scope = stores_in_scope(user, RECALLERS)
    return scope is not None and Store.objects.filter(scope).filter(pk=store.pk).exists()


def store_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Store:
    """Return the store if the user holds one of the roles over it, else NotFound."""
    scope = stores_in_scope(user, roles)
    if scope is None:
        raise NotFound()
    store = (
        Store.objects.filter(scope)
        .filter(public_id=public_id)
        .select_related("region__country", "facility", "parent")
        .first()
    )
    if store is None:
        raise NotFound()
    return store


def _store_ids(user: User | AnonymousUser, roles: Iterable[str] | None) -> QuerySet[Store] | None:
    scope = stores_in_scope(user, roles)
    return None if scope is None else Store.objects.filter(scope)


def transfer_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Transfer:
    """Return the transfer if the user may act on its source or its destination, else NotFound."""
    stores = _store_ids(user, roles)
    if stores is None:
        raise NotFound()
    transfer = (
        Transfer.objects.filter(Q(source__in=stores) | Q(destination__in=stores))
        .filter(public_id=public_id)
        .select_related("source", "destination", "requisition")
        .first()
    )
    if transfer is None:
        raise NotFound()
    return transfer


def requisition_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Requisition:
    """Return the requisition if the user may act on the store asking or the one asked."""
    stores = _store_ids(user, roles)
    if stores is None:
        raise NotFound()
    requisition = (
        Requisition.objects.filter(Q(requester__in=stores) | Q(supplier__in=stores))
        .filter(public_id=public_id)
        .select_related("requester", "supplier")
        .first()
    )
    if requisition is None:
        raise NotFound()
    return requisition


def adjustment_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> PendingAdjustment:
    """Return the adjustment if the user may act on its store, else NotFound."""
    stores = _store_ids(user, roles)
    if stores is None:
        raise NotFound()
    pending = (
        PendingAdjustment.objects.filter(store__in=stores)
        .filter(public_id=public_id)
        .select_related("store__region__country", "batch")
        .first()
    )
    if pending is None:
        raise NotFound()
    return pending


# --- balances and the ledger ------------------------------------------------------------------


def balance(store: Store, batch: Batch) -> int:
    """Return the doses of the batch the store holds (its kept balance)."""
    found = Balance.objects.filter(store=store, batch=batch).values_list("doses", flat=True)
    return next(iter(found), 0)


def balances(store: Store) -> QuerySet[Balance]:
    """Return the store's balances above zero, first to expire first."""
    return (
        Balance.objects.filter(store=store, doses__gt=0)
        .select_related("batch__vaccine")
        .order_by("batch__vaccine__code", "batch__expires_on", "batch__lot_number")
    )


def ledger_balance(store: Store, batch: Batch) -> int:
    """Return the sum of the store's moves of the batch: what the ledger says it holds."""
    total = StockMove.objects.filter(store=store, batch=batch).aggregate(d=Sum("doses"))["d"]
    return total or 0


@dataclass(frozen=True)
class Mismatch:
    """A kept balance that disagrees with the sum of its moves."""

    store_id: int
    batch_id: int
    kept_doses: int
    kept_vials: int
    ledger_doses: int
    ledger_vials: int


def balance_mismatches(store: Store | None = None) -> list[Mismatch]:
    """Return every kept balance that differs from its ledger (one store's, or all)."""
    moves = StockMove.objects.all()
    kept = Balance.objects.all()
    if store is not None:
        moves = moves.filter(store=store)
        kept = kept.filter(store=store)
    ledger = {
        (row["store_id"], row["batch_id"]): (row["d"], row["v"])
        for row in moves.values("store_id", "batch_id").annotate(d=Sum("doses"), v=Sum("vials"))
    }
    found = {
        (row["store_id"], row["batch_id"]): (row["doses"], row["vials"])
        for row in kept.values("store_id", "batch_id", "doses", "vials")
    }
    mismatches = []
    for key in sorted(set(ledger) | set(found)):
        doses, vials = found.get(key, (0, 0))
        ledger_doses, ledger_vials = ledger.get(key, (0, 0))
        if (doses, vials) != (ledger_doses, ledger_vials):
            store_id, batch_id = key
            mismatches.append(
                Mismatch(store_id, batch_id, doses, vials, ledger_doses, ledger_vials)
            )
    return mismatches


# --- allocation and transit -------------------------------------------------------------------


def fefo(store: Store, vaccine: Vaccine, on: date) -> list[tuple[Batch, int]]:
    """Return the store's usable batches of the vaccine and their doses, first to expire first.

    Recalled batches, those expired on that local day and those whose vial monitor says
    discard are left out.
    """
    rows = (
        Balance.objects.filter(
            store=store,
            doses__gt=0,
            batch__vaccine=vaccine,
            batch__recalled_at__isnull=True,
            batch__expires_on__gte=on,
            batch__vvm_stage__lt=Batch.VvmStage.STAGE_3,
        )
        .select_related("batch__vaccine")
        .order_by("batch__expires_on", "-batch__vvm_stage", "batch__lot_number")
    )
    return [(row.batch, row.doses) for row in rows]


def fefo_allocate(store: Store, vaccine: Vaccine, doses: int, on: date) -> list[tuple[Batch, int]]:
    """Suggest batches for the doses, first to expire first, in whole vials of each batch.

    Never more than asked: the doses are rounded down to whole vials, and fewer are
    suggested when the store holds too few.
    """
    suggestion = []
    left = doses
    for batch, held in fefo(store, vaccine, on):
        if left <= 0:
            break
        vials = min(held, left) // batch.doses_per_vial
        if vials:
            take = vials * batch.doses_per_vial
            suggestion.append((batch, take))
            left -= take
    return suggestion


def transfers_in_transit(store: Store) -> QuerySet[Transfer]:
    """Return the transfers on their way to or from the store."""
    return (
        Transfer.objects.filter(Q(source=store) | Q(destination=store))
        .filter(status=Transfer.Status.IN_TRANSIT)
        .select_related("source", "destination")
        .prefetch_related("lines__batch__vaccine")
    )


def doses_in_transit(store: Store) -> dict[int, int]:
    """Return the doses on their way to the store, per batch id."""
    rows = (
        Transfer.objects.filter(destination=store, status=Transfer.Status.IN_TRANSIT)
        .values("lines__batch_id")
        .annotate(d=Sum("lines__doses_sent"))
    )
    return {row["lines__batch_id"]: row["d"] for row in rows if row["lines__batch_id"]}


def requisitions_of(store: Store) -> QuerySet[Requisition]:
    """Return the requisitions the store made and those made of it, with their lines."""
    return (
        Requisition.objects.filter(Q(requester=store) | Q(supplier=store))
        .select_related("requester", "supplier")
        .prefetch_related("lines__vaccine")
    )
