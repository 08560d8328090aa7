"""v1 API: the fair draw's entries and the waiting list (`/api/v1/draw-entries`, `/waitlist`).

During a session's fair window POST /appointments refuses with `fair_window_open`: clients
enter the draw here instead. Handlers are as thin as in vaxnet.api.v1, whose error shape,
rate limits and Idempotency-Key handling they share (its exception handlers cover this
router too). docs/api.md and docs/fair-release.md have the rest.
"""

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from pydantic import Field

from vaxnet.api.v1 import (
    ERRORS,
    _account,
    _appointment_out,
    _booking_rate,
    _booking_write,
    _hhmm,
    _session,
    _slot,
    bearer,
)
from vaxnet.api.v1_idempotency import Answer, json_response
from vaxnet.api.v1_schemas import AppointmentOut, NoNul, Reference, SessionId, SlotStart
from vaxnet.booking.access import entry_for_account, offer_for_account
from vaxnet.booking.citizen_queries import draw_entries_of, offers_of, waitlist_of
from vaxnet.booking.draw import draw_enter
from vaxnet.booking.models import DrawEntry, WaitlistEntry, WaitlistOffer
from vaxnet.booking.waitlist import (
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_lapse,
    waitlist_subscribe,
)
from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import localized
from vaxnet.geo.models import Region
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account
from vaxnet.vaccines.models import Vaccine

router = Router()

PostalCode = Annotated[str, Field(max_length=12), NoNul]
RegionCode = Annotated[str, Field(max_length=40), NoNul]
VaccineCode = Annotated[str, Field(max_length=40), NoNul]


# Schemas: one pair per endpoint.


class DrawEnterIn(Schema):
    session: SessionId
    slot: SlotStart
    beneficiaries: list[Reference] = Field(min_length=1, max_length=20)
    join_waitlist: bool = Field(
        False, description="if not drawn, join the waiting list for the centre's district"
    )


class DrawEntryOut(Schema):
    id: str
    beneficiary: str
    name: str
    session: str
    centre: str
    date: date
    slot_start: str
    slot_end: str
    vaccine: str
    dose: int
    entered_at: datetime
    join_waitlist: bool
    draw_closes_at: datetime = Field(description="when the window closes; the draw follows")
    outcome: str = Field(description="pending, won, lost or already_booked")
    appointment: str | None = Field(description="the appointment id of a won entry")


class DrawEntriesOut(Schema):
    entries: list[DrawEntryOut]


class WaitlistIn(Schema):
    beneficiary: Reference
    date_from: date
    date_to: date
    postal_codes: list[PostalCode] = Field(default_factory=list, max_length=20)
    region: RegionCode | None = Field(None, description="a region code: the district, say")
    vaccine: VaccineCode | None = None
    dose: int | None = Field(None, ge=1, le=20)


class WaitlistEntryOut(Schema):
    id: str
    beneficiary: str
    name: str
    status: str = Field(description="waiting, offered, booked, lapsed or cancelled")
    postal_codes: list[str]
    region: str | None
    vaccine: str | None
    dose: int | None
    date_from: date
    date_to: date


class WaitlistOut(Schema):
    entries: list[WaitlistEntryOut]


class OfferOut(Schema):
    id: str
    entry: str
    beneficiary: str
    name: str
    session: str
    centre: str
    date: date
    slot_start: str
    slot_end: str
    vaccine: str
    dose: int
    status: str = Field(description="open, accepted or lapsed")
    expires_at: datetime
    expires_in: int = Field(description="seconds left to accept (0 once expired)")
    appointment: str | None


class OffersOut(Schema):
    offers: list[OfferOut]


# Answers


def _entry_out(entry: DrawEntry) -> dict[str, Any]:
    session = entry.session
    return DrawEntryOut(
        id=entry.public_id,
        beneficiary=entry.beneficiary.reference,
        name=entry.beneficiary.name,
        session=session.public_id,
        centre=localized(session.facility.names),
        date=session.date,
        slot_start=_hhmm(entry.slot.starts_at) or "",
        slot_end=_hhmm(entry.slot.ends_at) or "",
        vaccine=session.vaccine.code,
        dose=entry.dose_number,
        entered_at=entry.entered_at,
        join_waitlist=entry.join_waitlist,
        draw_closes_at=entry.draw.closes_at,
        outcome=entry.outcome,
        appointment=entry.appointment.public_id if entry.appointment_id else None,  # type: ignore[union-attr]
    ).model_dump(mode="json")


def _waitlist_out(entry: WaitlistEntry, region: Region | None) -> dict[str, Any]:
    return WaitlistEntryOut(
        id=entry.public_id,
        beneficiary=entry.beneficiary.reference,
        name=entry.beneficiary.name,
        status=entry.status,
        postal_codes=list(entry.postal_codes),
        region=region.code if region is not None else None,
        vaccine=entry.vaccine.code if entry.vaccine is not None else None,
        dose=entry.dose_number,
        date_from=entry.date_from,
        date_to=entry.date_to,
    ).model_dump(mode="json")


def _offer_out(offer: WaitlistOffer, now: datetime) -> dict[str, Any]:
    session = offer.session
    beneficiary = offer.entry.beneficiary
    return OfferOut(
        id=offer.public_id,
        entry=offer.entry.public_id,
        beneficiary=beneficiary.reference,
        name=beneficiary.name,
        session=session.public_id,
        centre=localized(session.facility.names),
        date=session.date,
        slot_start=_hhmm(offer.slot.starts_at) or "",
        slot_end=_hhmm(offer.slot.ends_at) or "",
        vaccine=session.vaccine.code,
        dose=offer.dose_number,
        status=offer.status,
        expires_at=offer.expires_at,
        expires_in=max(0, int((offer.expires_at - now).total_seconds()))
        if offer.status == WaitlistOffer.Status.OPEN
        else 0,
        appointment=offer.appointment.public_id if offer.appointment_id else None,  # type: ignore[union-attr]
    ).model_dump(mode="json")


def _region(account: Account, code: str | None) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(country=account.country, code=code.strip()).first()
    if region is None:
        raise DomainError("region_unknown", _("Choose a region from the list."), field="region")
    return region


def _vaccine(account: Account, code: str | None) -> Vaccine | None:
    if not code:
        return None
    vaccine = Vaccine.objects.filter(country=account.country, code=code.strip()).first()
    if vaccine is None:
        raise DomainError(
            "vaccine_unavailable", _("This vaccine is not offered here."), field="vaccine"
        )
    return vaccine


# The fair draw


@router.post(
    "/draw-entries",
    response={201: DrawEntriesOut, **ERRORS},
    auth=bearer,
    summary="Enter members in a session's fair draw",
    tags=["Fair draw"],
)
def draw_entries_enter(request: HttpRequest, payload: DrawEnterIn) -> HttpResponse:
    """During a session's fair window, enter one or more members in its draw: all or none.

    The time of entry plays no part. When the window closes the draw is made; winners are
    booked (see GET /appointments) and everyone is told by SMS.
    """

    def work(account: Account) -> Answer:
        session = _session(account, payload.session)
        slot = _slot(session, payload.slot)
        members = [beneficiary_for_account(account, ref) for ref in payload.beneficiaries]
        entries = draw_enter(
            beneficiaries=members,
            session=session,
            slot=slot,
            join_waitlist=payload.join_waitlist,
        )
        return 201, {"entries": [_entry_out(entry) for entry in entries]}

    return _booking_write(request, work)


@router.get(
    "/draw-entries",
    response={200: DrawEntriesOut, **ERRORS},
    auth=bearer,
    summary="The account's draw entries and their results",
    tags=["Fair draw"],
)
def draw_entries_list(request: HttpRequest) -> HttpResponse:
    """The draw entries of the account's members, latest first (at most 50)."""
    account = _account(request)
    return json_response(200, {"entries": [_entry_out(e) for e in draw_entries_of(account.pk)]})


# The waiting list


@router.get(
    "/waitlist",
    response={200: WaitlistOut, **ERRORS},
    auth=bearer,
    summary="The account's waiting-list entries",
    tags=["Waiting list"],
)
def waitlist_list(request: HttpRequest) -> HttpResponse:
    """Every waiting-list entry of the account's members, latest first (at most 50)."""
    account = _account(request)
    entries = waitlist_of(account.pk)
    return json_response(
        200,
        {"entries": [_waitlist_out(e, e.region) for e in entries]},  # type: ignore[attr-defined]
    )


@router.post(
    "/waitlist",
    response={201: WaitlistEntryOut, **ERRORS},
    auth=bearer,
    summary="Put a member on the waiting list",
    tags=["Waiting list"],
)
def waitlist_join(request: HttpRequest, payload: WaitlistIn) -> HttpResponse:
    """Wait for a place matching the preferences given (every one given must match).

    Postal codes and a region are alternatives; without either, any centre will do. When a
    place frees up it is held for the member for a few minutes and offered by SMS.
    """

    def work(account: Account) -> Answer:
        region = _region(account, payload.region)
        entry = waitlist_subscribe(
            beneficiary=beneficiary_for_account(account, payload.beneficiary),
            date_from=payload.date_from,
            date_to=payload.date_to,
            postal_codes=payload.postal_codes,
            region=region,
            vaccine=_vaccine(account, payload.vaccine),
            dose_number=payload.dose,
        )
        return 201, _waitlist_out(entry, region)

    return _booking_write(request, work)


@router.get(
    "/waitlist/offers",
    response={200: OffersOut, **ERRORS},
    auth=bearer,
    summary="Places offered to the account's members",
    tags=["Waiting list"],
)
def waitlist_offers(request: HttpRequest) -> HttpResponse:
    """The offers made to the account's members, latest first (at most 50)."""
    offers = offers_of(_account(request).pk)
    now = timezone.now()
    return json_response(200, {"offers": [_offer_out(offer, now) for offer in offers]})


@router.delete(
    "/waitlist/{entry_id}",
    response={204: None, **ERRORS},
    auth=bearer,
    summary="Take a member off the waiting list",
    tags=["Waiting list"],
)
def waitlist_remove(request: HttpRequest, entry_id: str) -> HttpResponse:
    """Leave the waiting list (an open offer stays until it is answered or lapses)."""
    account = _account(request)
    _booking_rate(request, account)
    waitlist_leave(entry=entry_for_account(account, entry_id))
    return HttpResponse(status=204)


@router.post(
    "/waitlist/offers/{offer_id}/accept",
    response={201: AppointmentOut, **ERRORS},
    auth=bearer,
    summary="Accept an offer: book the place it holds",
    tags=["Waiting list"],
)
def waitlist_offer_take(request: HttpRequest, offer_id: str) -> HttpResponse:
    """Book the held place for the member, while the offer is open; answer the appointment."""

    def work(account: Account) -> Answer:
        offer = offer_for_account(account, offer_id)
        return 201, _appointment_out(waitlist_offer_accept(offer=offer))

    return _booking_write(request, work)


@router.post(
    "/waitlist/offers/{offer_id}/decline",
    response={200: OfferOut, **ERRORS},
    auth=bearer,
    summary="Decline an offer: the place goes to the next person waiting",
    tags=["Waiting list"],
)
def waitlist_offer_decline(request: HttpRequest, offer_id: str) -> HttpResponse:
    """Give the held place up; the member leaves the waiting list."""

    def work(account: Account) -> Answer:
        offer = offer_for_account(account, offer_id)
        if not waitlist_offer_lapse(offer=offer, declined=True):
            raise DomainError(
                "offer_closed", _("This offer has expired or has already been answered.")
            )
        offer.refresh_from_db()
        return 200, _offer_out(offer, timezone.now())

    return _booking_write(request, work)
