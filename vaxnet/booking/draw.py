"""Fair release: requests in a session's first minutes are entries in a draw, not bookings.

When the window closes, `draw_close` shares the online places among the entries uniformly
at random. The algorithm (`canonical_line`, `shuffle`, `allocate`) uses only the standard
library and the published record, so that anyone can re-run it: docs/fair-release.md.
The moment of a request within the window plays no part in it.
"""

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.messages import notify_appointment, notify_beneficiary
from vaxnet.booking.models import Appointment, Draw, DrawEntry, Session, SessionDose, Slot
from vaxnet.booking.services import booking_mode, dose_for, take_online_place
from vaxnet.booking.waitlist import waitlist_join_after_draw
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.dashboard.services import bookings_tallied
from vaxnet.people.models import Beneficiary

ALGORITHM = "vaxnet-draw-1"


# The pure algorithm: standard library only, the same text as in docs/fair-release.md.


def canonical_line(reference: str, dose_number: int, slot: str) -> str:
    """Return one entry as published: beneficiary reference, dose number, preferred slot."""
    return f"{reference},{dose_number},{slot}"


def entries_hash(lines: Iterable[str]) -> str:
    """Return the SHA-256 of the sorted entry lines joined by newlines, in hex."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def _below(seed: bytes, i: int, n: int) -> int:
    """Return a uniform integer in [0, n) for step i, from SHA-256(seed, i, k) by rejection."""
    limit = 2**64 - 2**64 % n
    k = 0
    while True:
        digest = hashlib.sha256(seed + i.to_bytes(8, "big") + k.to_bytes(4, "big")).digest()
        value = int.from_bytes(digest[:8], "big")
        if value < limit:
            return value % n
        k += 1


def shuffle(lines: Sequence[str], seed_hex: str) -> list[str]:
    """Return the sorted lines in the order a Fisher–Yates shuffle driven by the seed gives."""
    seed = bytes.fromhex(seed_hex)
    order = sorted(lines)
    for i in range(len(order) - 1, 0, -1):
        j = _below(seed, i, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def allocate(
    lines: Sequence[str],
    seed_hex: str,
    capacity: Mapping[int, int],
    slots: Mapping[str, int],
    excluded: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """Return the winning lines, each with its slot, in draw order.

    Walk the shuffled entries; skip the excluded ones (already holding a live appointment
    for the dose when the draw is made); an entry wins while its dose has places left, in
    its preferred slot if that has room, else in the earliest slot that has.
    """
    left = dict(capacity)
    room = dict(slots)
    skip = set(excluded)
    winners = []
    for line in shuffle(lines, seed_hex):
        if line in skip:
            continue
        _reference, dose, wanted = line.split(",")
        if left.get(int(dose), 0) <= 0:
            continue
        slot = (
            wanted
            if room.get(wanted, 0) > 0
            else next((label for label in sorted(room) if room[label] > 0), None)
        )
        if slot is None:
            continue
        left[int(dose)] -= 1
        room[slot] -= 1
        winners.append((line, slot))
    return winners


# The services.


@dataclass(frozen=True)
class DrawOutcome:
    """What closing one draw did."""

    draw: Draw
    closed: bool
    winners: int = 0
    losers: int = 0


def _slot_label(slot: Slot) -> str:
    return f"{slot.starts_at:%H:%M}"


def _window(session: Session) -> timedelta:
    return timedelta(
        minutes=int(session.facility.country.setting("booking", "fair_window_minutes", 0))
    )


def draw_prepare(*, session: Session) -> Draw | None:
    """Fix the seed of a session's draw and its published commitment; None without a window.

    Called for every session before it is released (`vaxnet run_draws`), and at the latest
    by the first entry: the seed exists before the entries are known.
    """
    window = _window(session)
    if not window:
        return None
    with transaction.atomic():
        draw = Draw.objects.filter(session=session).first()
        if draw is not None:
            return draw
        draw = Draw(session=session, closes_at=session.release_at + window)
        draw.seed_commitment = hashlib.sha256(bytes.fromhex(draw.seed)).hexdigest()
        try:
            with transaction.atomic():
                draw.save()
        except IntegrityError:
            # A concurrent twin made it first; its seed is the one.
            return Draw.objects.get(session=session)
        audit_record(
            actor=None,
            action="draw.prepare",
            obj=draw,
            data={"session": session.public_id, "seed_commitment": draw.seed_commitment},
        )
    return draw


def draw_enter(
    *,
    beneficiaries: list[Beneficiary],
    session: Session,
    slot: Slot,
    join_waitlist: bool = False,
    now: datetime | None = None,
) -> list[DrawEntry]:
    """Enter one or several members of an account in the session's draw: all or none."""
    now = now or timezone.now()
    if not beneficiaries:
        raise DomainError("no_beneficiary", _("Choose who to book for."), field="beneficiaries")
    if len({b.account_id for b in beneficiaries}) != 1 or len(set(beneficiaries)) != len(
        beneficiaries
    ):
        raise DomainError("beneficiaries_mixed", _("Choose each member of one account once."))
    if slot.session_id != session.pk:
        raise DomainError("slot_unknown", _("Choose a time slot of this session."), field="slot")
    if booking_mode(session, now) != "draw":
        raise DomainError(
            "draw_not_open", _("This session is not taking entries for a fair draw now.")
        )
    doses = [(beneficiary, dose_for(beneficiary, session)) for beneficiary in beneficiaries]
    for beneficiary, dose_number in doses:
        if Appointment.objects.filter(
            beneficiary=beneficiary, dose_number=dose_number, status__in=Appointment.LIVE
        ).exists():
            raise DomainError(
                "already_booked",
                _("{name} already has an appointment for dose {number}.").format(
                    name=beneficiary.name, number=dose_number
                ),
            )
    entries = []
    with transaction.atomic():
        draw = draw_prepare(session=session)
        if draw is None:  # the pack turned the window off meanwhile
            raise DomainError(
                "draw_not_open", _("This session is not taking entries for a fair draw now.")
            )
        for beneficiary, dose_number in doses:
            try:
                with transaction.atomic():
                    entry = DrawEntry.objects.create(
                        draw=draw,
                        session=session,
                        slot=slot,
                        beneficiary=beneficiary,
                        dose_number=dose_number,
                        entered_at=now,
                        join_waitlist=join_waitlist,
                    )
            except IntegrityError:
                raise DomainError(
                    "already_entered",
                    _("{name} is already in the draw for this session.").format(
                        name=beneficiary.name
                    ),
                ) from None
            audit_record(
                actor=None,
                actor_label=f"account:{beneficiary.account_id}",
                action="draw.enter",
                obj=entry,
                data={"session": session.public_id, "dose": dose_number},
            )
            entries.append(entry)
    return entries


def draws_due(now: datetime) -> list[Draw]:
    """Return the draws whose window has closed and that have not been made yet."""
    return list(
        Draw.objects.filter(status=Draw.Status.OPEN, closes_at__lte=now).order_by("closes_at", "pk")
    )


def draw_close(*, draw: Draw, now: datetime | None = None) -> DrawOutcome:
    """Make a draw whose window has closed: book the winners, tell everyone; once only.

    A conditional UPDATE claims the draw, so of several processes only one makes it; the
    others, and any later call, change nothing. A winner who got a live appointment for
    the dose in a concurrent draw makes this one roll back with `draw_conflict`: run it
    again and that entry is excluded.
    """
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Draw.objects.filter(
            pk=draw.pk, status=Draw.Status.OPEN, closes_at__lte=now
        ).update(status=Draw.Status.DONE, closed_at=now)
        if not claimed:
            draw.refresh_from_db()
            return DrawOutcome(draw=draw, closed=False)
        session = Session.objects.select_related("facility__country", "vaccine").get(
            pk=draw.session_id
        )
        entries = list(
            DrawEntry.objects.filter(draw=draw).select_related("beneficiary__account", "slot")
        )
        by_line = {
            canonical_line(e.beneficiary.reference, e.dose_number, _slot_label(e.slot)): e
            for e in entries
        }
        slots = {_slot_label(s): s for s in Slot.objects.filter(session=session)}
        planned = session.status == Session.Status.PLANNED
        capacity = {
            d.dose_number: d.available_online if planned else 0
            for d in SessionDose.objects.filter(session=session)
        }
        room = {label: s.capacity - s.booked if planned else 0 for label, s in slots.items()}
        live = set(
            Appointment.objects.filter(
                beneficiary_id__in={e.beneficiary_id for e in entries},
                status__in=Appointment.LIVE,
            ).values_list("beneficiary_id", "dose_number")
        )
        excluded = sorted(
            line for line, e in by_line.items() if (e.beneficiary_id, e.dose_number) in live
        )
        winners = allocate(list(by_line), draw.seed, capacity, room, excluded)
        won = {line for line, _slot in winners}
        # Everyone lost but the winners (saved below) and the excluded: two UPDATEs, however
        # many entries.
        DrawEntry.objects.filter(draw=draw).update(outcome=DrawEntry.Outcome.LOST)
        DrawEntry.objects.filter(pk__in=[by_line[line].pk for line in excluded]).update(
            outcome=DrawEntry.Outcome.ALREADY_BOOKED
        )

        # Booked in beneficiary order, not draw order: two draws sharing people then wait
        # for each other in one direction only, never in a deadlock.
        for line, label in sorted(winners, key=lambda w: by_line[w[0]].beneficiary_id):
            entry = by_line[line]
            take_online_place(session, slots[label], entry.dose_number)
            try:
                with transaction.atomic():
                    appointment = Appointment.objects.create(
                        beneficiary=entry.beneficiary,
                        session=session,
                        slot=slots[label],
                        dose_number=entry.dose_number,
                        channel=Appointment.Channel.ONLINE,
                        security_code=_security_code(),
                    )
            except IntegrityError:
                raise DomainError(
                    "draw_conflict",
                    _("A winner was booked elsewhere meanwhile; make the draw again."),
                ) from None
            entry.outcome = DrawEntry.Outcome.WON
            entry.appointment = appointment
            entry.save(update_fields=["outcome", "appointment"])
            audit_record(
                actor=None,
                action="appointment.book",
                obj=appointment,
                data={"session": session.public_id, "dose": entry.dose_number, "draw": draw.pk},
            )
            notify_appointment(appointment, "draw_won")
        bookings_tallied(session, [e.appointment for e in entries if e.appointment is not None])

        out = won | set(excluded)
        losers = [e for line, e in by_line.items() if line not in out]
        for entry in losers:
            waitlisted = entry.join_waitlist and waitlist_join_after_draw(
                beneficiary=entry.beneficiary,
                session=session,
                dose_number=entry.dose_number,
                now=now,
            )
            notify_beneficiary(
                beneficiary=entry.beneficiary,
                session=session,
                slot=None,
                template="draw_lost",
                dedupe_key=f"draw_lost:{entry.public_id}",
                waitlisted=int(waitlisted),
            )

        draw.entries_hash = entries_hash(by_line)
        draw.result = _record(by_line, capacity, room, excluded, winners)
        draw.status = Draw.Status.DONE
        draw.closed_at = now
        draw.save(update_fields=["entries_hash", "result"])
        audit_record(
            actor=None,
            action="draw.close",
            obj=draw,
            data={
                "session": session.public_id,
                "seed": draw.seed,
                "entries_hash": draw.entries_hash,
                "entries": len(by_line),
                "winners": len(winners),
            },
        )
        availability_changed(session)
    return DrawOutcome(draw=draw, closed=True, winners=len(winners), losers=len(losers))


def _security_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def _record(
    by_line: Mapping[str, DrawEntry],
    capacity: Mapping[int, int],
    room: Mapping[str, int],
    excluded: Sequence[str],
    winners: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """Return what is published besides the seed and hash: enough to re-run the draw."""
    return {
        "algorithm": ALGORITHM,
        "entries": sorted(by_line),
        "capacity": {str(dose): places for dose, places in sorted(capacity.items())},
        "slots": dict(sorted(room.items())),
        "excluded": list(excluded),
        "winners": [{"entry": line, "slot": slot} for line, slot in winners],
    }


def draw_rerun(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Re-run a published draw from its record; raise ValueError if the entry hash differs."""
    if entries_hash(record["entries"]) != record["entries_hash"]:
        raise ValueError("the entry list does not match its published hash")
    if hashlib.sha256(bytes.fromhex(record["seed"])).hexdigest() != record["seed_commitment"]:
        raise ValueError("the seed does not match its published commitment")
    return allocate(
        record["entries"],
        record["seed"],
        {int(dose): places for dose, places in record["capacity"].items()},
        record["slots"],
        record["excluded"],
    )
