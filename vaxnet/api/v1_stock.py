"""v1 API: stock for staff (`/api/v1/stock/...`): stores, the ledger, transfers, requisitions.

Staff sign in at /staff/sign-in/ and call with that Django session; writes need the CSRF
token (X-CSRFToken), as the pages do. Every store, transfer, requisition and adjustment is
reached through its access chokepoint (vaxnet.stock.queries) with the pages' roles: what
is missing or out of scope answers 404 alike. Every write goes through a stock service and
takes an Idempotency-Key. Refusals are vaxnet.api.v1's {"error": {"code", "message"}}.
"""

from collections.abc import Callable
from datetime import date, timedelta
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
from vaxnet.booking.models import Session
from vaxnet.core.access import region_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.core.ratelimit import check_rate
from vaxnet.facilities.models import REGION_ROLES
from vaxnet.stock import coldchain, queries, reports, services
from vaxnet.stock import requisitions as moves_between
from vaxnet.stock.alerts import alerts_for, stores_for
from vaxnet.stock.models import (
    Batch,
    Equipment,
    Excursion,
    PendingAdjustment,
    Requisition,
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
# Who approves adjustments, resolves discrepancies and recalls batches, as on the pages.
ADMINS = REGION_ROLES
REPORT_DAYS = 30
MAX_REPORT_DAYS = 366

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


def _batch_doses(country_id: int, lines: list[s.BatchDosesIn]) -> dict[Batch, int]:
    found: dict[str, Batch] = {}
    doses: dict[Batch, int] = {}
    for line in lines:
        batch = found.setdefault(line.batch, _batch(country_id, line.batch, "lines"))
        doses[batch] = doses.get(batch, 0) + line.doses
    return doses


def _vaccine_doses(vaccines: dict[str, Vaccine], lines: list[s.VaccineDosesIn]) -> dict:
    doses: dict[Vaccine, int] = {}
    for line in lines:
        vaccine = vaccines.get(line.vaccine.strip())
        if vaccine is None:
            raise DomainError(
                "vaccine_unavailable", _("This vaccine is not offered here."), field="lines"
            )
        doses[vaccine] = doses.get(vaccine, 0) + line.doses
    return doses


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


def _requisition_out(requisition: Requisition) -> dict[str, Any]:
    lines = requisition.lines.select_related("vaccine").order_by("vaccine__code")
    return {
        "id": requisition.public_id,
        "status": requisition.status,
        "requester": _ref(requisition.requester),
        "supplier": _ref(requisition.supplier),
        "note": requisition.note,
        "requested_at": requisition.requested_at,
        "decided_at": requisition.decided_at,
        "lines": [
            {
                "vaccine": line.vaccine.code,
                "doses_requested": line.doses_requested,
                "doses_approved": line.doses_approved,
            }
            for line in lines
        ],
        "transfers": list(
            requisition.transfers.order_by("dispatched_at").values_list("public_id", flat=True)
        ),
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
    summary="Recall a batch everywhere (administrators)",
)
def batch_recall(request: HttpRequest, batch_id: str, payload: s.RecallIn) -> HttpResponse:
    """Recall a batch: from now on it can only be returned or written off, in every store."""

    def work(user: User) -> Answer:
        batch = (
            Batch.objects.filter(
                public_id=_id(batch_id), vaccine__country_id__in=_countries(user, ADMINS)
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


# Transfers


@router.post(
    "/stock/stores/{store_id}/transfers",
    response={201: s.TransferOut, **ERRORS},
    auth=staff,
    summary="Send a transfer to a store this one supplies",
)
def transfer_dispatch(request: HttpRequest, store_id: str, payload: s.DispatchIn) -> HttpResponse:
    """Send batches, in whole vials, to a store this one supplies: all or none."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        destination = store.children.filter(active=True, public_id=_id(payload.destination)).first()
        if destination is None:
            raise DomainError(
                "destination_unknown",
                _("Send to a store that this one supplies."),
                field="destination",
            )
        transfer = moves_between.transfer_dispatch(
            by=user,
            source=store,
            destination=destination,
            lines=_batch_doses(store.region.country_id, payload.lines),
        )
        return 201, _answer(s.TransferOut, _transfer_out(transfer))

    return _write(request, work)


@router.get(
    "/stock/transfers/{transfer_id}",
    response={200: s.TransferOut, **ERRORS},
    auth=staff,
    summary="A transfer and its lines",
)
def transfer_detail(request: HttpRequest, transfer_id: str) -> HttpResponse:
    """A transfer to or from a store in the user's scope: what was sent, received, missing."""
    transfer = queries.transfer_for_staff(_user(request), _id(transfer_id), STOCK_ROLES)
    return json_response(200, _answer(s.TransferOut, _transfer_out(transfer)))


@router.post(
    "/stock/transfers/{transfer_id}/receipt",
    response={200: s.TransferOut, **ERRORS},
    auth=staff,
    summary="Receive a transfer at its destination",
)
def transfer_receive(
    request: HttpRequest, transfer_id: str, payload: s.TransferReceiptIn
) -> HttpResponse:
    """Receive a transfer: per batch, doses in good order and damaged; the rest is short."""

    def work(user: User) -> Answer:
        transfer = queries.transfer_for_staff(user, _id(transfer_id), STOCK_ROLES)
        _store(user, transfer.destination.public_id)
        received = damaged = None
        if payload.lines is not None:
            sent = {
                line.batch.public_id: line.batch for line in transfer.lines.select_related("batch")
            }
            received, damaged = {}, {}
            for line in payload.lines:
                batch = sent.get(_id(line.batch))
                if batch is None:
                    raise DomainError(
                        "batch_not_sent", _("Only batches sent in this transfer can be received.")
                    )
                received[batch] = line.received
                if line.damaged:
                    damaged[batch] = line.damaged
        done = moves_between.transfer_receive(
            by=user, transfer=transfer, received=received, damaged=damaged
        )
        return 200, _answer(s.TransferOut, _transfer_out(done))

    return _write(request, work)


@router.post(
    "/stock/transfers/{transfer_id}/resolution",
    response={200: s.TransferOut, **ERRORS},
    auth=staff,
    summary="Resolve a transfer's discrepancy (administrators)",
)
def transfer_resolve(
    request: HttpRequest, transfer_id: str, payload: s.ResolutionIn
) -> HttpResponse:
    """Close a transfer's missing or damaged doses with a note of what was found or done."""

    def work(user: User) -> Answer:
        transfer = queries.transfer_for_staff(user, _id(transfer_id), ADMINS)
        done = moves_between.transfer_resolve(
            by=user, transfer=transfer, resolution=payload.resolution
        )
        return 200, _answer(s.TransferOut, _transfer_out(done))

    return _write(request, work)


# Requisitions


def _supplier_side(user: User, requisition_id: str) -> Requisition:
    """Return the requisition if the user may act on the store asked (its supplier)."""
    requisition = queries.requisition_for_staff(user, _id(requisition_id), STOCK_ROLES)
    _store(user, requisition.supplier.public_id)
    return requisition


@router.post(
    "/stock/stores/{store_id}/requisitions",
    response={201: s.RequisitionOut, **ERRORS},
    auth=staff,
    summary="Ask the store that supplies this one for doses",
)
def requisition_create(
    request: HttpRequest, store_id: str, payload: s.RequisitionIn
) -> HttpResponse:
    """Ask the supplying store for doses of one or more vaccines (by code)."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        vaccines = Vaccine.objects.filter(
            country_id=store.region.country_id,
            code__in=[line.vaccine.strip() for line in payload.lines],
        )
        requisition = moves_between.requisition_create(
            by=user,
            requester=store,
            lines=_vaccine_doses({v.code: v for v in vaccines}, payload.lines),
            note=payload.note,
        )
        return 201, _answer(s.RequisitionOut, _requisition_out(requisition))

    return _write(request, work)


@router.get(
    "/stock/requisitions/{requisition_id}",
    response={200: s.RequisitionOut, **ERRORS},
    auth=staff,
    summary="A requisition and its lines",
)
def requisition_detail(request: HttpRequest, requisition_id: str) -> HttpResponse:
    """A requisition made by or of a store in the user's scope, with the transfers sending it."""
    requisition = queries.requisition_for_staff(_user(request), _id(requisition_id), STOCK_ROLES)
    return json_response(200, _answer(s.RequisitionOut, _requisition_out(requisition)))


@router.post(
    "/stock/requisitions/{requisition_id}/approval",
    response={200: s.RequisitionOut, **ERRORS},
    auth=staff,
    summary="Approve a requisition, in full or in part (the supplier)",
)
def requisition_approve(
    request: HttpRequest, requisition_id: str, payload: s.ApprovalIn
) -> HttpResponse:
    """Approve all that was asked for, or the doses per vaccine given (a vaccine left out: none)."""

    def work(user: User) -> Answer:
        requisition = _supplier_side(user, requisition_id)
        approved = None
        if payload.lines is not None:
            asked = {
                line.vaccine.code: line.vaccine
                for line in requisition.lines.select_related("vaccine")
            }
            approved = _vaccine_doses(asked, payload.lines)
        done = moves_between.requisition_approve(
            by=user, requisition=requisition, approved=approved
        )
        return 200, _answer(s.RequisitionOut, _requisition_out(done))

    return _write(request, work)


@router.post(
    "/stock/requisitions/{requisition_id}/rejection",
    response={200: s.RequisitionOut, **ERRORS},
    auth=staff,
    summary="Refuse a requisition (the supplier)",
)
def requisition_reject(
    request: HttpRequest, requisition_id: str, payload: s.RejectionIn
) -> HttpResponse:
    """Refuse a requisition that waits for a decision, saying why."""

    def work(user: User) -> Answer:
        requisition = _supplier_side(user, requisition_id)
        done = moves_between.requisition_reject(
            by=user, requisition=requisition, reason=payload.reason
        )
        return 200, _answer(s.RequisitionOut, _requisition_out(done))

    return _write(request, work)


@router.post(
    "/stock/requisitions/{requisition_id}/dispatch",
    response={201: s.TransferOut, **ERRORS},
    auth=staff,
    summary="Send an approved requisition (the supplier)",
)
def requisition_dispatch(
    request: HttpRequest, requisition_id: str, payload: s.RequisitionDispatchIn
) -> HttpResponse:
    """Send the batches given, or the supplier's first to expire first; answer the transfer."""

    def work(user: User) -> Answer:
        requisition = _supplier_side(user, requisition_id)
        supplier = _store(user, requisition.supplier.public_id)
        lines = None
        if payload.lines is not None:
            lines = _batch_doses(supplier.region.country_id, payload.lines)
        transfer = moves_between.requisition_dispatch(by=user, requisition=requisition, lines=lines)
        return 201, _answer(s.TransferOut, _transfer_out(transfer))

    return _write(request, work)


# Sessions


def _session_here(store: Store, public_id: str) -> Session:
    session = None
    if store.facility_id is not None:
        session = Session.objects.filter(
            public_id=_id(public_id), facility_id=store.facility_id
        ).first()
    if session is None:
        raise DomainError(
            "session_unknown",
            _("No session at this store's facility has this id."),
            field="session",
        )
    return session


@router.post(
    "/stock/stores/{store_id}/issues",
    response={201: s.StockMoveOut, **ERRORS},
    auth=staff,
    summary="Issue vials to a session of the store's facility",
)
def store_issue(request: HttpRequest, store_id: str, payload: s.SessionVialsIn) -> HttpResponse:
    """Issue whole vials of a batch to a planned session held at the store's facility."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        move = services.stock_issue(
            by=user,
            store=store,
            batch=_batch(store.region.country_id, payload.batch),
            session=_session_here(store, payload.session),
            vials=payload.vials,
        )
        return 201, _answer(s.StockMoveOut, _moved(move))

    return _write(request, work)


@router.post(
    "/stock/stores/{store_id}/returns",
    response={201: s.StockMoveOut, **ERRORS},
    auth=staff,
    summary="Return unopened vials from a session",
)
def store_return(request: HttpRequest, store_id: str, payload: s.SessionVialsIn) -> HttpResponse:
    """Return unopened vials issued to a session back to the store, before its stock is closed."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        move = services.stock_return(
            by=user,
            store=store,
            batch=_batch(store.region.country_id, payload.batch),
            session=_session_here(store, payload.session),
            vials=payload.vials,
        )
        return 201, _answer(s.StockMoveOut, _moved(move))

    return _write(request, work)


@router.post(
    "/stock/sessions/{session_id}/stock-close",
    response={200: s.StockCloseOut, **ERRORS},
    auth=staff,
    summary="Close a session's stock: doses given per batch",
)
def session_stock_close(
    request: HttpRequest, session_id: str, payload: s.StockCloseIn
) -> HttpResponse:
    """Book the doses given per batch, return what is unopened, and the open-vial wastage."""

    def work(user: User) -> Answer:
        session = Session.objects.filter(public_id=_id(session_id)).first()
        store = Store.objects.filter(facility_id=session.facility_id).first() if session else None
        if session is None or store is None:
            raise NotFound()
        store = _store(user, store.public_id)
        country_id = store.region.country_id
        given = {_batch(country_id, line.batch): line.doses for line in payload.doses_given}
        back = {_batch(country_id, line.batch): line.vials for line in payload.unopened_vials}
        accounts = services.session_stock_close(
            by=user, session=session, doses_given=given, unopened_vials=back
        )
        data = {
            "session": session.public_id,
            "batches": [
                {
                    "batch": account.batch.public_id,
                    "vials_issued": account.vials_issued,
                    "vials_returned": account.vials_returned,
                    "vials_opened": account.vials_opened,
                    "doses_given": account.doses_given,
                    "doses_wasted": account.wastage,
                }
                for account in accounts
            ],
        }
        return 200, _answer(s.StockCloseOut, data)

    return _write(request, work)


# Cold chain


@router.post(
    "/stock/stores/{store_id}/equipment",
    response={201: s.EquipmentOut, **ERRORS},
    auth=staff,
    summary="Add cold-chain equipment; its data logger key is answered once",
)
def equipment_add(request: HttpRequest, store_id: str, payload: s.EquipmentIn) -> HttpResponse:
    """Add equipment to a store. The answer holds its data logger's key: keep it, it is not
    kept in clear anywhere. A retry with the same Idempotency-Key answers without the key.
    """

    def work(user: User) -> Answer:
        equipment, key = coldchain.equipment_add(
            store=_store(user, store_id),
            kind=payload.kind,
            label=payload.label,
            make=payload.make,
            model=payload.model,
            by=user,
        )
        data = {
            "id": equipment.public_id,
            "store": equipment.store.public_id,
            "kind": equipment.kind,
            "label": equipment.label,
            "make": equipment.make,
            "model": equipment.model,
            "key": key,
        }
        return 201, _answer(s.EquipmentOut, data)

    return _write(request, work, seal=lambda data: {**data, "key": None})


@router.post(
    "/stock/equipment/{equipment_id}/readings",
    response={201: s.ReadingOut, **ERRORS},
    auth=staff,
    summary="Record a temperature read by hand",
)
def equipment_reading(
    request: HttpRequest, equipment_id: str, payload: s.ReadingIn
) -> HttpResponse:
    """Record a temperature read by hand in equipment of a store in scope; find excursions."""

    def work(user: User) -> Answer:
        equipment = (
            Equipment.objects.filter(
                public_id=_id(equipment_id), active=True, store__in=_scope(user, STOCK_ROLES)
            )
            .select_related("store")
            .first()
        )
        if equipment is None:
            raise NotFound()
        reading = coldchain.reading_record(
            equipment=equipment, at=payload.at, celsius=payload.celsius, by=user
        )
        still_open = equipment.excursions.filter(ended_at__isnull=True).order_by("started_at")
        data = {
            "equipment": equipment.public_id,
            "at": reading.at,
            "celsius": float(reading.celsius),
            "excursions": [_excursion_out(excursion) for excursion in still_open],
        }
        return 201, _answer(s.ReadingOut, data)

    return _write(request, work)


@router.post(
    "/stock/excursions/{excursion_id}/acknowledgement",
    response={200: s.AcknowledgementOut, **ERRORS},
    auth=staff,
    summary="Acknowledge a temperature excursion",
)
def excursion_acknowledge(request: HttpRequest, excursion_id: str) -> HttpResponse:
    """Record that the staff member has seen the excursion and is acting on it."""

    def work(user: User) -> Answer:
        excursion = (
            Excursion.objects.filter(
                public_id=_id(excursion_id), equipment__store__in=_scope(user, STOCK_ROLES)
            )
            .select_related("equipment")
            .first()
        )
        if excursion is None:
            raise NotFound()
        done = coldchain.excursion_acknowledge(excursion=excursion, by=user)
        return 200, _answer(s.AcknowledgementOut, {"excursion": _excursion_out(done)})

    return _write(request, work)


# Reports and alerts


def _report_stores(request: HttpRequest, query: s.ReportQuery) -> QuerySet[Store]:
    """Return the stores a report covers: the user's, cut to a store or region of theirs."""
    user = _user(request)
    scope = stores_for(user)
    if scope is None:
        return Store.objects.none()
    if query.store:
        return scope.filter(pk=_store(user, query.store).pk)
    if query.region:
        region = region_for_staff(user, query.region.strip(), STOCK_ROLES)
        return scope.filter(region__path__startswith=region.path)
    return scope


def _period(query: s.ReportQuery, today: date) -> reports.Period:
    end = query.date_to or today
    start = query.date_from or end - timedelta(days=REPORT_DAYS - 1)
    if end < start:
        raise DomainError(
            "period_invalid",
            _("The last day cannot come before the first."),
            field="date_to",
            status=422,
        )
    if (end - start).days >= MAX_REPORT_DAYS:
        raise DomainError(
            "period_too_long",
            _("Choose at most {count} days.").format(count=MAX_REPORT_DAYS),
            field="date_to",
            status=422,
        )
    return reports.Period(start, end)


def _rate_value(value: Any) -> float | None:
    return None if value is None else float(value)


@router.get(
    "/stock/reports/on-hand",
    response={200: s.OnHandReportOut, **ERRORS},
    auth=staff,
    summary="Report: stock on hand",
)
def report_on_hand(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """The doses each store in scope holds now, by vaccine and batch."""
    rows = [
        {
            "store": _ref(row.store),
            "vaccine": row.vaccine.code,
            "batch": row.batch.public_id,
            "lot_number": row.batch.lot_number,
            "expires_on": row.batch.expires_on,
            "doses": row.doses,
            "vials": row.vials,
        }
        for row in reports.stock_on_hand(_report_stores(request, query))
    ]
    return json_response(200, _answer(s.OnHandReportOut, {"rows": rows}))


@router.get(
    "/stock/reports/in-transit",
    response={200: s.InTransitReportOut, **ERRORS},
    auth=staff,
    summary="Report: doses in transit",
)
def report_in_transit(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """The doses sent and not yet received, to or from the stores in scope, by destination."""
    rows = [
        {"destination": _ref(row.destination), "vaccine": row.vaccine.code, "doses": row.doses}
        for row in reports.in_transit(_report_stores(request, query))
    ]
    return json_response(200, _answer(s.InTransitReportOut, {"rows": rows}))


@router.get(
    "/stock/reports/consumption",
    response={200: s.ConsumptionReportOut, **ERRORS},
    auth=staff,
    summary="Report: doses given",
)
def report_consumption(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """The doses given in the period (default: the last 30 days), by store and vaccine."""
    period = _period(query, timezone.localdate())
    rows = [
        {"store": _ref(row.store), "vaccine": row.vaccine.code, "doses": row.doses}
        for row in reports.consumption(_report_stores(request, query), period)
    ]
    data = {"date_from": period.start, "date_to": period.end, "rows": rows}
    return json_response(200, _answer(s.ConsumptionReportOut, data))


@router.get(
    "/stock/reports/wastage",
    response={200: s.WastageReportOut, **ERRORS},
    auth=staff,
    summary="Report: wastage rates",
)
def report_wastage(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """Doses given and wasted in the period, from open vials and closed ones, with rates."""
    period = _period(query, timezone.localdate())
    rows = [
        {
            "store": _ref(row.store),
            "vaccine": row.vaccine.code,
            "given": row.given,
            "open_vial": row.open_vial,
            "open_vial_rate": _rate_value(row.open_vial_rate),
            "closed_vial": row.closed_vial,
            "closed_vial_rate": _rate_value(row.closed_vial_rate),
        }
        for row in reports.wastage(_report_stores(request, query), period)
    ]
    data = {"date_from": period.start, "date_to": period.end, "rows": rows}
    return json_response(200, _answer(s.WastageReportOut, data))


@router.get(
    "/stock/reports/days-of-supply",
    response={200: s.SupplyReportOut, **ERRORS},
    auth=staff,
    summary="Report: days of supply",
)
def report_days_of_supply(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """Doses on hand over the average given a day in the 14 whole days before today."""
    rows = [
        {
            "store": _ref(row.store),
            "vaccine": row.vaccine.code,
            "on_hand": row.on_hand,
            "consumed": row.consumed,
            "daily": float(row.daily),
            "days": _rate_value(row.days),
        }
        for row in reports.days_of_supply(_report_stores(request, query), timezone.localdate())
    ]
    return json_response(200, _answer(s.SupplyReportOut, {"rows": rows}))


@router.get(
    "/stock/alerts",
    response={200: s.AlertsOut, **ERRORS},
    auth=staff,
    summary="Alerts of the stores the staff member answers for",
)
def alerts_list(request: HttpRequest) -> HttpResponse:
    """Low stock, stock-outs, batches near or past expiry and excursions, most urgent first."""
    alerts = [
        {
            "kind": alert.kind,
            "severity": alert.severity,
            "store": _ref(alert.store),
            "message": str(alert.message),
            "vaccine": alert.vaccine.code if alert.vaccine else None,
            "batch": alert.batch.public_id if alert.batch else None,
            "excursion": alert.excursion.public_id if alert.excursion else None,
        }
        for alert in alerts_for(_user(request), timezone.localdate())
    ]
    return json_response(200, _answer(s.AlertsOut, {"alerts": alerts}))
