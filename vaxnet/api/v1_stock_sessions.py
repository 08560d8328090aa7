"""v1 API: stock for staff (`/api/v1/stock/...`): session vials and the cold chain.

Vials are issued to and returned from a session of the store's facility, and a session's
stock is closed with the doses given; staff add cold-chain equipment, record temperatures
read by hand and acknowledge excursions. The staff session, access chokepoints, rate
limit, Idempotency-Key handling and error shape are v1_stock's.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router

from vaxnet.api import v1_stock_schemas as s
from vaxnet.api.v1_idempotency import Answer
from vaxnet.api.v1_stock import (
    ERRORS,
    _answer,
    _batch,
    _excursion_out,
    _id,
    _moved,
    _scope,
    _store,
    _write,
    staff,
)
from vaxnet.booking.models import Session
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.stock import coldchain, services
from vaxnet.stock.models import Equipment, Excursion, StockMove, Store
from vaxnet.stock.reports import STOCK_ROLES

router = Router(tags=["Stock"])


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


def _session_vials(
    request: HttpRequest,
    store_id: str,
    payload: s.SessionVialsIn,
    service: Callable[..., StockMove],
) -> HttpResponse:
    """Move whole vials of a batch between the store and a session at its facility."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        move = service(
            by=user,
            store=store,
            batch=_batch(store.region.country_id, payload.batch),
            session=_session_here(store, payload.session),
            vials=payload.vials,
        )
        return 201, _answer(s.StockMoveOut, _moved(move))

    return _write(request, work)


@router.post(
    "/stock/stores/{store_id}/issues",
    response={201: s.StockMoveOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_store_issue",
    summary="Issue vials to a session of the store's facility",
)
def store_issue(request: HttpRequest, store_id: str, payload: s.SessionVialsIn) -> HttpResponse:
    """Issue whole vials of a batch to a planned session held at the store's facility."""

    return _session_vials(request, store_id, payload, services.stock_issue)


@router.post(
    "/stock/stores/{store_id}/returns",
    response={201: s.StockMoveOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_store_return",
    summary="Return unopened vials from a session",
)
def store_return(request: HttpRequest, store_id: str, payload: s.SessionVialsIn) -> HttpResponse:
    """Return unopened vials issued to a session back to the store, before its stock is closed."""

    return _session_vials(request, store_id, payload, services.stock_return)


@router.post(
    "/stock/sessions/{session_id}/stock-close",
    response={200: s.StockCloseOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_session_stock_close",
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
    operation_id="vaxnet_api_v1_stock_equipment_add",
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
    operation_id="vaxnet_api_v1_stock_equipment_reading",
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
    operation_id="vaxnet_api_v1_stock_excursion_acknowledge",
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
