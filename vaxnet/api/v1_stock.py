"""v1 API: stock for staff (`/api/v1/stock/...`): stores, the ledger, batches and counts.

Staff sign in at /staff/sign-in/ and call with that Django session; writes need the CSRF
token (X-CSRFToken), as the pages do. Every store, transfer, requisition and adjustment is
reached through its access chokepoint (vaxnet.stock.queries) with the pages' roles: what
is missing or out of scope answers 404 alike. Every write goes through a stock service and
takes an Idempotency-Key; refusals are vaxnet.api.v1's {"error": {"code", "message"}}. The
helpers here (StaffSession, ERRORS, access, rate limit, answers) serve the other v1_stock_*
routers too.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import SessionAuth

from vaxnet.api import v1_stock_schemas as s
from vaxnet.api.v1_auth import speak
from vaxnet.api.v1_idempotency import Answer, idempotent, json_response
from vaxnet.api.v1_schemas import ErrorOut
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.core.ratelimit import check_rate
from vaxnet.facilities.models import REGION_ROLES
from vaxnet.stock import queries, reports, services
from vaxnet.stock.models import (
    Batch,
    Excursion,
    PendingAdjustment,
    StockMove,
    Store,
    Transfer,
)
from vaxnet.stock.reports import STOCK_ROLES
from vaxnet.vaccines.models import Vaccine

router = Router(tags=["Stock"])

# Staff writes per user (hits, window in seconds): a busy store's day is a few hundred moves.
WRITES_PER_USER = (600, 3600)
PER_PAGE = 50
# Who approves adjustments and resolves discrepancies, as on the pages (recalls: RECALLERS).
ADMINS = REGION_ROLES

ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


class StaffSession(SessionAuth):
    """Authenticate staff with their Django session; unsafe methods also need the CSRF token."""

    def _get_key(self, request: HttpRequest) -> str | None:
        speak(request)
        try:
            return super()._get_key(request)
        except HttpError:
            raise DomainError(
                "csrf_failed",
                _("The CSRF token is missing or wrong: send it in the X-CSRFToken header."),
                status=403,
            ) from None

    def authenticate(self, request: HttpRequest, key: str | None) -> User:
        user = request.user
        if not isinstance(user, User) or not user.is_active:
            raise DomainError(
                "unauthorized", _("Sign in as staff first: there is no staff session."), status=401
            )
        return user


staff = StaffSession()


# Helpers


def _user(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _write(
    request: HttpRequest,
    work: Callable[[User], Answer],
    seal: Callable[[Any], Any] | None = None,
) -> HttpResponse:
    """Run a stock change: within the user's limit, once per Idempotency-Key."""
    user = _user(request)
    check_rate(f"api:v1:stock:user:{user.pk}", WRITES_PER_USER[0], WRITES_PER_USER[1])
    return idempotent(request, scope=f"user:{user.pk}", work=lambda: work(user), seal=seal)


def _id(public_id: str) -> str:
    return public_id.strip()[:16]


def _store(user: User, public_id: str, roles: frozenset[str] = STOCK_ROLES) -> Store:
    return queries.store_for_staff(user, _id(public_id), roles)


def _scope(user: User | AnonymousUser, roles: frozenset[str]) -> QuerySet[Store]:
    scope = queries.stores_in_scope(user, roles)
    if scope is None:
        raise NotFound()
    return Store.objects.filter(scope)


def _batch(country_id: int, public_id: str, field: str = "batch") -> Batch:
    batch = (
        Batch.objects.filter(public_id=_id(public_id), vaccine__country_id=country_id)
        .select_related("vaccine")
        .first()
    )
    if batch is None:
        raise DomainError("batch_unknown", _("No batch has this id."), field=field)
    return batch


def _page(items: QuerySet[Any], number: int) -> tuple[Any, dict[str, int]]:
    page = Paginator(items, PER_PAGE).get_page(number)
    return page, {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


# Answers


def _ref(store: Store) -> dict[str, str]:
    return {"id": store.public_id, "name": store.name}


def _store_out(store: Store) -> dict[str, Any]:
    return {
        "id": store.public_id,
        "name": store.name,
        "level": store.level,
        "region": store.region.code,
        "facility": store.facility.code if store.facility_id else None,  # type: ignore[union-attr]
        "parent": store.parent.public_id if store.parent_id else None,  # type: ignore[union-attr]
        "active": store.active,
    }


def _batch_out(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.public_id,
        "vaccine": batch.vaccine.code,
        "lot_number": batch.lot_number,
        "manufacturer": batch.manufacturer,
        "expires_on": batch.expires_on,
        "doses_per_vial": batch.doses_per_vial,
        "vvm_stage": batch.vvm_stage,
        "recalled_at": batch.recalled_at,
        "recall_reason": batch.recall_reason,
    }


def _move_out(move: StockMove) -> dict[str, Any]:
    return {
        "kind": move.kind,
        "reason": move.reason,
        "doses": move.doses,
        "vials": move.vials,
        "at": move.at,
        "batch": move.batch.public_id,
        "lot_number": move.batch.lot_number,
        "transfer": move.transfer.public_id if move.transfer_id else None,  # type: ignore[union-attr]
        "session": move.session.public_id if move.session_id else None,  # type: ignore[union-attr]
        "note": move.note,
    }


def _moved(move: StockMove) -> dict[str, Any]:
    return {
        "store": move.store.public_id,
        "move": _move_out(move),
        "balance": queries.balance(move.store, move.batch),
    }


def _transfer_out(transfer: Transfer) -> dict[str, Any]:
    lines = transfer.lines.select_related("batch__vaccine").order_by("batch__lot_number")
    return {
        "id": transfer.public_id,
        "status": transfer.status,
        "source": _ref(transfer.source),
        "destination": _ref(transfer.destination),
        "requisition": transfer.requisition.public_id if transfer.requisition_id else None,  # type: ignore[union-attr]
        "dispatched_at": transfer.dispatched_at,
        "received_at": transfer.received_at,
        "resolution": transfer.resolution,
        "lines": [
            {
                "batch": line.batch.public_id,
                "lot_number": line.batch.lot_number,
                "vaccine": line.batch.vaccine.code,
                "doses_sent": line.doses_sent,
                "doses_received": line.doses_received,
                "doses_short": line.doses_short,
                "doses_damaged": line.doses_damaged,
            }
            for line in lines
        ],
    }


def _adjustment_out(pending: PendingAdjustment) -> dict[str, Any]:
    return {
        "id": pending.public_id,
        "store": pending.store.public_id,
        "batch": pending.batch.public_id,
        "counted_doses": pending.counted_doses,
        "balance_doses": pending.balance_doses,
        "reason": pending.reason,
        "status": pending.status,
        "counted_at": pending.counted_at,
        "decided_at": pending.decided_at,
    }


def _excursion_out(excursion: Excursion) -> dict[str, Any]:
    return {
        "id": excursion.public_id,
        "equipment": excursion.equipment.public_id,
        "kind": excursion.kind,
        "started_at": excursion.started_at,
        "ended_at": excursion.ended_at,
        "lowest": float(excursion.lowest),
        "highest": float(excursion.highest),
        "acknowledged_at": excursion.acknowledged_at,
    }


def _answer(schema: type[Schema], data: dict[str, Any]) -> Any:
    return schema.model_validate(data).model_dump(mode="json")


# Stores and the ledger


@router.get(
    "/stock/stores",
    response={200: s.StoresOut, **ERRORS},
    auth=staff,
    summary="The stores the staff member may act on",
)
def stores_list(request: HttpRequest, query: Query[s.PageQuery]) -> HttpResponse:
    """The stores in the user's scope (store keepers and administrators), 50 a page."""
    scope = queries.stores_in_scope(_user(request), STOCK_ROLES)
    stores = Store.objects.none() if scope is None else Store.objects.filter(scope)
    stores = stores.select_related("region", "facility", "parent").order_by(
        "region__path", "level", "name", "pk"
    )
    page, counts = _page(stores, query.page)
    data = {**counts, "stores": [_store_out(store) for store in page]}
    return json_response(200, _answer(s.StoresOut, data))


@router.get(
    "/stock/stores/{store_id}",
    response={200: s.StoreDetailOut, **ERRORS},
    auth=staff,
    summary="A store: stock on hand by batch, transfers in transit, open excursions",
)
def store_detail(request: HttpRequest, store_id: str) -> HttpResponse:
    """The store's stock on hand by batch (first to expire first), transit and cold chain."""
    store = _store(_user(request), store_id)
    today = timezone.localdate()
    on_hand = [
        {
            "batch": _batch_out(row.batch),
            "doses": row.doses,
            "vials": row.vials,
            "expired": row.batch.is_expired(on=today),
            "discard": row.batch.is_discarded_by_vvm(),
        }
        for row in queries.balances(store)
    ]
    excursions = (
        Excursion.objects.filter(equipment__store=store, equipment__active=True)
        .filter(Q(ended_at__isnull=True) | Q(acknowledged_at__isnull=True))
        .select_related("equipment")
        .order_by("-started_at")
    )
    data = {
        "store": _store_out(store),
        "on_hand": on_hand,
        "in_transit": [_transfer_out(t) for t in queries.transfers_in_transit(store)],
        "excursions": [_excursion_out(excursion) for excursion in excursions],
    }
    return json_response(200, _answer(s.StoreDetailOut, data))


@router.get(
    "/stock/stores/{store_id}/moves",
    response={200: s.MovesOut, **ERRORS},
    auth=staff,
    summary="A store's ledger: its stock moves, newest first",
)
def store_moves(request: HttpRequest, store_id: str, query: Query[s.MovesQuery]) -> HttpResponse:
    """The store's moves, newest first, 50 a page; filtered by batch, kind and local days."""
    store = _store(_user(request), store_id)
    moves = StockMove.objects.filter(store=store)
    if query.batch:
        moves = moves.filter(batch__public_id=_id(query.batch))
    if query.kind:
        moves = moves.filter(kind=query.kind)
    if query.date_from:
        moves = moves.filter(at__gte=reports.Period(query.date_from, query.date_from).bounds()[0])
    if query.date_to:
        moves = moves.filter(at__lt=reports.Period(query.date_to, query.date_to).bounds()[1])
    moves = moves.select_related("store", "batch", "transfer", "session").order_by("-at", "-pk")
    page, counts = _page(moves, query.page)
    data = {**counts, "moves": [_move_out(move) for move in page]}
    return json_response(200, _answer(s.MovesOut, data))


# Batches


def _countries(user: User, roles: frozenset[str]) -> QuerySet[Store, int]:
    return _scope(user, roles).values_list("region__country_id", flat=True)


@router.post(
    "/stock/batches",
    response={201: s.BatchOut, **ERRORS},
    auth=staff,
    summary="Register a manufacturer's lot of a vaccine",
)
def batch_register(request: HttpRequest, payload: s.BatchIn) -> HttpResponse:
    """Register a batch (once per vaccine and lot number) before receiving its stock."""

    def work(user: User) -> Answer:
        vaccine = Vaccine.objects.filter(
            code=payload.vaccine.strip(), country_id__in=_countries(user, STOCK_ROLES)
        ).first()
        if vaccine is None:
            raise DomainError(
                "vaccine_unavailable", _("This vaccine is not offered here."), field="vaccine"
            )
        batch = services.batch_register(
            by=user,
            vaccine=vaccine,
            lot_number=payload.lot_number,
            manufacturer=payload.manufacturer,
            expires_on=payload.expires_on,
            doses_per_vial=payload.doses_per_vial,
        )
        return 201, _answer(s.BatchOut, _batch_out(batch))

    return _write(request, work)


@router.post(
    "/stock/batches/{batch_id}/recall",
    response={200: s.BatchOut, **ERRORS},
    auth=staff,
    summary="Recall a batch everywhere (state and national administrators)",
)
def batch_recall(request: HttpRequest, batch_id: str, payload: s.RecallIn) -> HttpResponse:
    """Recall a batch: from now on it can only be returned or written off, in every store."""

    def work(user: User) -> Answer:
        batch = (
            Batch.objects.filter(
                public_id=_id(batch_id),
                vaccine__country_id__in=_countries(user, queries.RECALLERS),
            )
            .select_related("vaccine")
            .first()
        )
        if batch is None:
            raise NotFound()
        recalled = services.batch_recall(by=user, batch=batch, reason=payload.reason)
        return 200, _answer(s.BatchOut, _batch_out(recalled))

    return _write(request, work)


# Receipts, wastage and counts


@router.post(
    "/stock/stores/{store_id}/receipts",
    response={201: s.StockMoveOut, **ERRORS},
    auth=staff,
    summary="Receive stock from a supplier",
)
def store_receive(request: HttpRequest, store_id: str, payload: s.ReceiptIn) -> HttpResponse:
    """Record stock of a registered batch received from a manufacturer, in whole vials."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        move = services.stock_receive(
            by=user,
            store=store,
            batch=_batch(store.region.country_id, payload.batch),
            doses=payload.doses,
            supplier=payload.supplier,
        )
        return 201, _answer(s.StockMoveOut, _moved(move))

    return _write(request, work)


@router.post(
    "/stock/stores/{store_id}/wastage",
    response={201: s.StockMoveOut, **ERRORS},
    auth=staff,
    summary="Write off wasted doses",
)
def store_waste(request: HttpRequest, store_id: str, payload: s.WastageIn) -> HttpResponse:
    """Write off doses with a reason; recalled and expired batches leave the books this way."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        move = services.stock_waste(
            by=user,
            store=store,
            batch=_batch(store.region.country_id, payload.batch),
            doses=payload.doses,
            reason=payload.reason,
            note=payload.note,
        )
        return 201, _answer(s.StockMoveOut, _moved(move))

    return _write(request, work)


@router.post(
    "/stock/stores/{store_id}/counts",
    response={201: s.CountOut, **ERRORS},
    auth=staff,
    summary="Record a physical count",
)
def store_count(request: HttpRequest, store_id: str, payload: s.CountIn) -> HttpResponse:
    """Record a count: a small difference is adjusted at once, a large one waits for approval."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        batch = _batch(store.region.country_id, payload.batch)
        outcome = services.stock_count(
            by=user,
            store=store,
            batch=batch,
            counted_doses=payload.counted_doses,
            reason=payload.reason,
        )
        data = {
            "difference": outcome.difference,
            "move": _move_out(outcome.move) if outcome.move else None,
            "adjustment": _adjustment_out(outcome.pending) if outcome.pending else None,
            "balance": queries.balance(store, batch),
        }
        return 201, _answer(s.CountOut, data)

    return _write(request, work)


@router.post(
    "/stock/adjustments/{adjustment_id}/decision",
    response={200: s.AdjustmentOut, **ERRORS},
    auth=staff,
    summary="Approve or reject a waiting adjustment (administrators)",
)
def adjustment_decide(
    request: HttpRequest, adjustment_id: str, payload: s.DecisionIn
) -> HttpResponse:
    """Decide a large count difference; an approval applies it. Not one's own count."""

    def work(user: User) -> Answer:
        pending = queries.adjustment_for_staff(user, _id(adjustment_id), ADMINS)
        decided = services.adjustment_decide(by=user, pending=pending, approve=payload.approve)
        return 200, _answer(s.AdjustmentOut, _adjustment_out(decided))

    return _write(request, work)
