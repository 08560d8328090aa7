"""The waiting list: a place that frees up is offered, held for a few minutes, to the first match.

An offer holds its place with the same conditional UPDATE as a booking, so nobody else
can take it meanwhile; accepting turns the hold into an appointment, letting it lapse
gives the place back and offers it to the next person waiting.
"""

import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.messages import notify_appointment, notify_beneficiary
from vaxnet.booking.models import (
    Appointment,
    Session,
    SessionDose,
    Slot,
    WaitlistEntry,
    WaitlistOffer,
)
from vaxnet.booking.services import booking_mode, dose_for, take_online_place
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.dashboard.services import appointment_facts, facts_tallied
from vaxnet.geo.models import Region
from vaxnet.people.models import Beneficiary
from vaxnet.vaccines.models import Vaccine

# Where the citizen accepts an offer; the page itself belongs to the booking views.
OFFER_PATH = "/waitlist/offers/{public_id}/"
OFFER_MINUTES = 5
# After a lost draw, the waiting list covers the centre's district for this many days.
DRAW_WAITLIST_DAYS = 7


class _NoPlace(Exception):
    """The freed place was taken before it could be offered."""


def waitlist_subscribe(
    *,
    beneficiary: Beneficiary,
    date_from: date,
    date_to: date,
    postal_codes: Iterable[str] = (),
    region: Region | None = None,
    vaccine: Vaccine | None = None,
    dose_number: int | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put a beneficiary on the waiting list for places matching their preferences."""
    now = now or timezone.now()
    codes = sorted({code.strip() for code in postal_codes if code.strip()})
    country = beneficiary.country
    bad = [code for code in codes if not country.postal_code_valid(code)]
    if bad:
        raise DomainError(
            "postal_code_invalid",
            _("{code} is not a postal code here.").format(code=bad[0]),
            field="postal_codes",
        )
    if date_to < date_from or date_to < timezone.localdate(now):
        raise DomainError(
            "waitlist_dates",
            _("Choose a date range that ends on or after its start, and not in the past."),
            field="date_to",
        )
    if vaccine is not None and (vaccine.country_id != country.pk or not vaccine.active):
        raise DomainError(
            "vaccine_unavailable", _("This vaccine is not offered here."), field="vaccine"
        )
    if region is not None and region.country_id != country.pk:
        raise DomainError("region_unknown", _("Choose a region of this country."), field="region")
    if dose_number is not None and dose_number < 1:
        raise DomainError("dose_number", _("Choose a dose number."), field="dose_number")
    with transaction.atomic():
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    beneficiary=beneficiary,
                    postal_codes=codes,
                    region_path=region.path if region is not None else "",
                    vaccine=vaccine,
                    dose_number=dose_number,
                    date_from=date_from,
                    date_to=date_to,
                    created_at=now,
                )
        except IntegrityError:
            raise DomainError(
                "already_waitlisted",
                _("{name} is already on the waiting list.").format(name=beneficiary.name),
            ) from None
        audit_record(
            actor=None,
            actor_label=f"account:{beneficiary.account_id}",
            action="waitlist.subscribe",
            obj=entry,
        )
    return entry


def waitlist_join_after_draw(
    *, beneficiary: Beneficiary, session: Session, dose_number: int, now: datetime
) -> bool:
    """Put a draw's loser on the waiting list for the centre's district; say if they are on it."""
    try:
        waitlist_subscribe(
            beneficiary=beneficiary,
            date_from=max(session.date, timezone.localdate(now)),
            date_to=session.date + timedelta(days=DRAW_WAITLIST_DAYS - 1),
            region=Region.objects.filter(path=_district_path(session.facility.region_path)).first(),
            vaccine=session.vaccine,
            dose_number=dose_number,
            now=now,
        )
    except DomainError as error:
        return error.code == "already_waitlisted"
    return True


def _district_path(region_path: str) -> str:
    # Paths run "/country/state/district/…/"; a centre with a shorter path keeps all of it.
    return "/" + "/".join(region_path.strip("/").split("/")[:3]) + "/"


def waitlist_leave(*, entry: WaitlistEntry) -> WaitlistEntry:
    """Take a beneficiary off the waiting list (an open offer stays until it lapses)."""
    with transaction.atomic():
        changed = WaitlistEntry.objects.filter(
            pk=entry.pk, status=WaitlistEntry.Status.WAITING
        ).update(status=WaitlistEntry.Status.CANCELLED)
        if not changed:
            raise DomainError("not_waiting", _("This person is not waiting for a place."))
        audit_record(
            actor=None,
            actor_label=f"account:{entry.beneficiary.account_id}",
            action="waitlist.leave",
            obj=entry,
        )
    entry.refresh_from_db()
    return entry


def _candidates(session: Session, dose_number: int) -> Iterable[WaitlistEntry]:
    """Yield the waiting entries whose preferences match a place, oldest first."""
    found = (
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING,
            beneficiary__country_id=session.facility.country_id,
            date_from__lte=session.date,
            date_to__gte=session.date,
        )
        .filter(Q(vaccine__isnull=True) | Q(vaccine_id=session.vaccine_id))
        .filter(Q(dose_number__isnull=True) | Q(dose_number=dose_number))
        .select_related("beneficiary__account")
        .order_by("created_at", "pk")
    )
    for entry in found.iterator(chunk_size=200):
        if entry.matches_place(session.facility):
            yield entry


def _eligible(entry: WaitlistEntry, session: Session, dose_number: int) -> bool:
    """Return whether the person may have this dose here and holds no live booking for it."""
    try:
        if dose_for(entry.beneficiary, session) != dose_number:
            return False
    except DomainError:
        return False
    return not Appointment.objects.filter(
        beneficiary_id=entry.beneficiary_id, dose_number=dose_number, status__in=Appointment.LIVE
    ).exists()


def _release_place(session_id: int, dose_number: int, slot_id: int) -> None:
    SessionDose.objects.filter(
        session_id=session_id, dose_number=dose_number, booked_online__gt=0
    ).update(booked_online=F("booked_online") - 1)
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def waitlist_place_freed(
    *, session: Session, dose_number: int, slot: Slot | None, now: datetime | None = None
) -> WaitlistOffer | None:
    """Offer a place that has just become free to the first matching, eligible person waiting.

    The place is held for the offer; without a match it stays free for anyone to book.
    """
    now = now or timezone.now()
    if slot is None:
        return None
    session = Session.objects.select_related("facility__country", "vaccine").get(pk=session.pk)
    if booking_mode(session, now) != "open":
        return None
    try:
        with transaction.atomic():
            for entry in _candidates(session, dose_number):
                if not _eligible(entry, session, dose_number):
                    continue
                claimed = WaitlistEntry.objects.filter(
                    pk=entry.pk, status=WaitlistEntry.Status.WAITING
                ).update(status=WaitlistEntry.Status.OFFERED)
                if not claimed:
                    continue  # a concurrent offer took this person
                try:
                    take_online_place(session, slot, dose_number)
                except DomainError:
                    raise _NoPlace from None
                return _offer(entry, session, slot, dose_number, now)
    except _NoPlace:
        return None
    return None


def _offer(
    entry: WaitlistEntry, session: Session, slot: Slot, dose_number: int, now: datetime
) -> WaitlistOffer:
    minutes = int(session.facility.country.setting("booking", "waitlist_offer_minutes", 0))
    minutes = minutes or OFFER_MINUTES
    offer = WaitlistOffer.objects.create(
        entry=entry,
        session=session,
        slot=slot,
        dose_number=dose_number,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    audit_record(
        actor=None,
        action="waitlist.offer",
        obj=offer,
        data={"entry": entry.public_id, "session": session.public_id, "dose": dose_number},
    )
    notify_beneficiary(
        beneficiary=entry.beneficiary,
        session=session,
        slot=slot,
        template="waitlist_offer",
        dedupe_key=f"waitlist_offer:{offer.public_id}",
        link=settings.PUBLIC_URL + OFFER_PATH.format(public_id=offer.public_id),
        minutes=minutes,
    )
    availability_changed(session)
    return offer


def waitlist_session_opened(*, session: Session, now: datetime | None = None) -> int:
    """Offer each free online place of a session open for booking to the people waiting."""
    now = now or timezone.now()
    made = 0
    for dose in SessionDose.objects.filter(session=session).order_by("dose_number"):
        for _place in range(dose.available_online):
            slot = (
                Slot.objects.filter(session=session, booked__lt=F("capacity"))
                .order_by("starts_at")
                .first()
            )
            if (
                waitlist_place_freed(
                    session=session, dose_number=dose.dose_number, slot=slot, now=now
                )
                is None
            ):
                break
            made += 1
    return made


def waitlist_sweep(*, now: datetime | None = None) -> int:
    """Offer the free places of every session open for booking to the people waiting."""
    now = now or timezone.now()
    waiting = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.WAITING, date_to__gte=timezone.localdate(now)
    )
    if not waiting.exists():
        return 0
    sessions = (
        Session.objects.filter(
            status=Session.Status.PLANNED,
            date__gte=timezone.localdate(now),
            release_at__lte=now,
            doses__booked_online__lt=F("doses__capacity_online"),
        )
        .distinct()
        .order_by("date", "pk")
    )
    return sum(waitlist_session_opened(session=session, now=now) for session in sessions)


def waitlist_offer_accept(*, offer: WaitlistOffer, now: datetime | None = None) -> Appointment:
    """Book the place an offer holds for its beneficiary, if the offer is still open."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = WaitlistOffer.objects.filter(
            pk=offer.pk, status=WaitlistOffer.Status.OPEN, expires_at__gt=now
        ).update(status=WaitlistOffer.Status.ACCEPTED)
        if not claimed:
            raise DomainError(
                "offer_closed", _("This offer has expired or has already been answered.")
            )
        offer.refresh_from_db()
        beneficiary = offer.entry.beneficiary
        try:
            with transaction.atomic():
                # The place was taken when the offer was made: the hold becomes the booking.
                appointment = Appointment.objects.create(
                    beneficiary=beneficiary,
                    session=offer.session,
                    slot=offer.slot,
                    dose_number=offer.dose_number,
                    channel=Appointment.Channel.ONLINE,
                    security_code=f"{secrets.randbelow(10_000):04d}",
                )
        except IntegrityError:
            raise DomainError(
                "already_booked",
                _("{name} already has an appointment for dose {number}.").format(
                    name=beneficiary.name, number=offer.dose_number
                ),
            ) from None
        facts_tallied(appointment_facts([appointment.pk]))
        offer.appointment = appointment
        offer.save(update_fields=["appointment"])
        WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=WaitlistEntry.Status.BOOKED)
        audit_record(
            actor=None,
            actor_label=f"account:{beneficiary.account_id}",
            action="appointment.book",
            obj=appointment,
            data={
                "session": offer.session.public_id,
                "dose": offer.dose_number,
                "offer": offer.public_id,
            },
        )
        notify_appointment(appointment, "booking_confirmed")
        availability_changed(offer.session)
    return appointment


def waitlist_offer_lapse(
    *, offer: WaitlistOffer, now: datetime | None = None, declined: bool = False
) -> bool:
    """Close an expired (or declined) offer, give its place back and offer it to the next.

    Return whether this call lapsed it (False: not expired, or answered or lapsed already).
    """
    now = now or timezone.now()
    with transaction.atomic():
        still_open = WaitlistOffer.objects.filter(pk=offer.pk, status=WaitlistOffer.Status.OPEN)
        if not declined:
            still_open = still_open.filter(expires_at__lte=now)
        lapsed = still_open.update(status=WaitlistOffer.Status.LAPSED)
        if not lapsed:
            return False
        WaitlistEntry.objects.filter(pk=offer.entry_id, status=WaitlistEntry.Status.OFFERED).update(
            status=WaitlistEntry.Status.LAPSED
        )
        _release_place(offer.session_id, offer.dose_number, offer.slot_id)
        audit_record(
            actor=None,
            action="waitlist.decline" if declined else "waitlist.lapse",
            obj=offer,
        )
        session = Session.objects.select_related("facility").get(pk=offer.session_id)
        availability_changed(session)
        waitlist_place_freed(
            session=session, dose_number=offer.dose_number, slot=offer.slot, now=now
        )
    return True


def waitlist_offers_expire(*, now: datetime | None = None) -> int:
    """Lapse every open offer past its time, passing each place on; return how many lapsed."""
    now = now or timezone.now()
    due = WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.OPEN, expires_at__lte=now
    ).select_related("slot")
    return sum(waitlist_offer_lapse(offer=offer, now=now) for offer in due)
