"""Cold chain: equipment and its data logger keys, temperature readings, and excursions.

A reading from 2 °C to 8 °C (both included) is in range. One at or below -0.5 °C is
freezing: WHO's freeze alarm threshold, 0 °C less the half degree a logger may be off, so
that a fridge at 0 °C read as -0.4 °C is not taken for frozen. A freezing reading is an
excursion at once. A run of readings above 8 °C (HEAT), or below 2 °C and not freezing
(COLD), is one when it lasts more than the country's `stock.excursion_minutes` (60 by
default). A run lasts from its first reading to the reading that ends it (the next one
that is not of its kind), or to its last reading while nothing has ended it yet: the time
between two readings counts as out of range, since nobody knows otherwise.

Excursions are derived from the stored readings. Each ingest recomputes them over the time
window its new readings can change (from the last in-range reading before the earliest new
one to the first in-range reading after the latest), so the outcome does not depend on the
order in which batches arrive. A recomputed excursion keeps the row, and so the alert and
acknowledgement, of the one it overlaps; one that late readings disprove is withdrawn (its
row deleted, the withdrawal audited; its batches stay flagged, a check being harmless).

Freezers keep vaccine far below 0 °C: their readings are kept, but the 2-8 °C rule does
not apply to them.
"""

import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import cast

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.stock.models import Batch, Equipment, Excursion, Store, TemperatureReading

LOW = Decimal("2")
HIGH = Decimal("8")
FREEZING = Decimal("-0.5")
DEFAULT_EXCURSION_MINUTES = 60
# What a logger can read: anything else is a broken sensor or a corrupt message.
LOWEST_READING = Decimal("-80")
HIGHEST_READING = Decimal("60")
MAX_READINGS = 1000
# A logger's clock may run a little ahead of ours; a year back covers any logger's memory.
FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=366)
UNRULED_KINDS = frozenset({Equipment.Kind.FREEZER})

_KEY_SALT = "vaxnet.stock.coldchain.device_key"
_KEY_MAX_LENGTH = 200
_CENT = Decimal("0.01")
_NEVER = datetime.max.replace(tzinfo=UTC)


# Data logger keys


def device_key_hash(key: str, *, secret: str | None = None) -> str:
    """Return the keyed hash (hex HMAC-SHA256) kept in place of a data logger's key."""
    return salted_hmac(_KEY_SALT, key, secret=secret, algorithm="sha256").hexdigest()


def _new_key() -> tuple[str, str]:
    key = secrets.token_urlsafe(32)
    return key, device_key_hash(key)


def equipment_for_device_key(key: str) -> Equipment | None:
    """Return the active equipment whose data logger has this key, else None.

    Keys hashed with a secret key being retired (SECRET_KEY_FALLBACKS) still match, and
    their hash is brought to the current secret then, so loggers outlive a key rotation.
    """
    key = key.strip()
    if not key or len(key) > _KEY_MAX_LENGTH:
        return None
    current = device_key_hash(key)
    hashes = [current] + [
        device_key_hash(key, secret=old) for old in getattr(settings, "SECRET_KEY_FALLBACKS", [])
    ]
    equipment = (
        Equipment.objects.select_related("store__region__country")
        .filter(active=True, device_key_hash__in=hashes)
        .first()
    )
    if equipment is not None and equipment.device_key_hash != current:
        Equipment.objects.filter(pk=equipment.pk, device_key_hash=equipment.device_key_hash).update(
            device_key_hash=current
        )
        equipment.device_key_hash = current
    return equipment


# Equipment


def equipment_add(
    *, store: Store, kind: str, label: str, make: str = "", model: str = "", by: User
) -> tuple[Equipment, str]:
    """Add a piece of equipment to a store; return it and its data logger key (shown once)."""
    if kind not in Equipment.Kind.values:
        raise DomainError("equipment_kind_unknown", _("Choose a kind of equipment."), field="kind")
    label = label.strip()
    if not label:
        raise DomainError("label_missing", _("Give the equipment a label."), field="label")
    fields = {"label": label, "make": make.strip(), "model": model.strip()}
    for name, value in fields.items():
        limit = cast(models.CharField, Equipment._meta.get_field(name)).max_length or 0
        if len(value) > limit:
            raise DomainError(
                "too_long",
                _("Use at most {count} characters.").format(count=limit),
                field=name,
            )
    if not store.active:
        raise DomainError("store_inactive", _("This store is no longer in use."), field="store")
    key, key_hash = _new_key()
    with transaction.atomic():
        equipment = Equipment.objects.create(
            store=store, kind=kind, device_key_hash=key_hash, **fields
        )
        audit_record(
            actor=by,
            action="equipment.add",
            obj=equipment,
            data={"store": store.public_id, "kind": kind, "label": label},
        )
    return equipment, key


def equipment_rotate_key(*, equipment: Equipment, by: User) -> str:
    """Give the equipment's data logger a new key, ending the old one; return it (shown once)."""
    key, key_hash = _new_key()
    with transaction.atomic():
        Equipment.objects.filter(pk=equipment.pk).update(device_key_hash=key_hash)
        equipment.device_key_hash = key_hash
        audit_record(actor=by, action="equipment.rotate_key", obj=equipment)
    return key


# Readings


@dataclass(frozen=True)
class IngestResult:
    """What an ingest kept, what it already had, and the excursions it raised or left open."""

    accepted: int
    duplicates: int
    raised: list[Excursion]
    open: list[Excursion]


def readings_ingest(
    *, equipment: Equipment, readings: Sequence[tuple[datetime, float | Decimal]]
) -> IngestResult:
    """Keep a data logger's batch of (moment, °C) readings, skip those on record, find excursions.

    All or none: one reading that is not valid refuses the batch (422, the field naming it).
    """
    if not readings:
        raise DomainError(
            "readings_missing", _("Send at least one reading."), field="readings", status=422
        )
    if len(readings) > MAX_READINGS:
        raise DomainError(
            "readings_too_many",
            _("Send at most {count} readings at a time.").format(count=MAX_READINGS),
            field="readings",
            status=422,
        )
    now = timezone.now()
    checked = [
        _checked(at, celsius, now, field=f"readings.{index}")
        for index, (at, celsius) in enumerate(readings)
    ]
    actor = _device_label(equipment)
    with transaction.atomic():
        locked = _locked(equipment)
        fresh = _new_readings(locked, checked)
        TemperatureReading.objects.bulk_create(
            [
                TemperatureReading(
                    equipment=locked,
                    at=at,
                    celsius=celsius,
                    source=TemperatureReading.Source.LOGGER,
                )
                for at, celsius in fresh
            ],
            ignore_conflicts=True,
        )
        raised: list[Excursion] = []
        if fresh:
            moments = [at for at, _celsius in fresh]
            audit_record(
                actor=None,
                actor_label=actor,
                action="temperature.ingest",
                obj=locked,
                data={
                    "accepted": len(fresh),
                    "duplicates": len(checked) - len(fresh),
                    "from": min(moments).isoformat(),
                    "to": max(moments).isoformat(),
                },
            )
            raised = _excursions_update(locked, min(moments), max(moments), actor=None, label=actor)
        still_open = list(locked.excursions.filter(ended_at__isnull=True).order_by("started_at"))
    return IngestResult(len(fresh), len(checked) - len(fresh), raised, still_open)


def reading_record(
    *, equipment: Equipment, at: datetime, celsius: float | Decimal, by: User
) -> TemperatureReading:
    """Record a temperature read by hand in a piece of equipment, and find excursions."""
    moment, value = _checked(at, celsius, timezone.now(), field="")
    with transaction.atomic():
        locked = _locked(equipment)
        if TemperatureReading.objects.filter(equipment=locked, at=moment).exists():
            raise DomainError(
                "reading_exists", _("A reading at this time is already on record."), field="at"
            )
        reading = TemperatureReading.objects.create(
            equipment=locked,
            at=moment,
            celsius=value,
            source=TemperatureReading.Source.MANUAL,
            by=by,
        )
        audit_record(
            actor=by,
            action="temperature.record",
            obj=locked,
            data={"at": moment.isoformat(), "celsius": str(value)},
        )
        _excursions_update(locked, moment, moment, actor=by, label="")
    return reading


def _device_label(equipment: Equipment) -> str:
    return f"device:{equipment.public_id}"


def _locked(equipment: Equipment) -> Equipment:
    """Return the equipment locked until the commit (one ingest at a time), or refuse."""
    locked = (
        Equipment.objects.select_for_update(of=("self",))
        .select_related("store__region__country")
        .filter(pk=equipment.pk)
        .first()
    )
    if locked is None or not locked.active:
        raise DomainError("equipment_inactive", _("This equipment is no longer in use."))
    return locked


def _checked(
    at: datetime, celsius: float | Decimal, now: datetime, *, field: str
) -> tuple[datetime, Decimal]:
    """Return a reading's moment and temperature (to the hundredth) if valid, else refuse."""
    prefix = f"{field}." if field else ""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise DomainError(
            "reading_time_naive",
            _("Give each reading's time with its offset from UTC, such as +05:30."),
            field=f"{prefix}at",
            status=422,
        )
    if at > now + FUTURE_SKEW:
        raise DomainError(
            "reading_in_future",
            _("A reading's time is in the future: check the logger's clock."),
            field=f"{prefix}at",
            status=422,
        )
    if at < now - MAX_AGE:
        raise DomainError(
            "reading_too_old",
            _("A reading is more than a year old: check the logger's clock."),
            field=f"{prefix}at",
            status=422,
        )
    value = _celsius(celsius)
    if value is None or not LOWEST_READING <= value <= HIGHEST_READING:
        raise DomainError(
            "reading_out_of_bounds",
            _("A temperature must be a number from {lowest} to {highest} °C.").format(
                lowest=LOWEST_READING, highest=HIGHEST_READING
            ),
            field=f"{prefix}celsius",
            status=422,
        )
    return at, value


def _celsius(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        number = Decimal(str(value))
        if not number.is_finite():
            return None
        return number.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return None


def _new_readings(
    equipment: Equipment, readings: Iterable[tuple[datetime, Decimal]]
) -> list[tuple[datetime, Decimal]]:
    """Return the readings not on record yet; of two at one moment, the first is kept."""
    readings = list(readings)
    kept = set(
        TemperatureReading.objects.filter(
            equipment=equipment, at__in=[at for at, _celsius in readings]
        ).values_list("at", flat=True)
    )
    fresh = []
    for at, celsius in readings:
        if at not in kept:
            kept.add(at)
            fresh.append((at, celsius))
    return fresh


# Excursions


def reading_kind(celsius: Decimal) -> str | None:
    """Return the kind of excursion a temperature belongs to, or None when it is in range."""
    if celsius <= FREEZING:
        return Excursion.Kind.FREEZE
    if celsius < LOW:
        return Excursion.Kind.COLD
    if celsius > HIGH:
        return Excursion.Kind.HEAT
    return None


@dataclass
class _Run:
    """Consecutive readings of one excursion kind, and the reading that ended them."""

    kind: str
    started_at: datetime
    last_at: datetime
    lowest: Decimal
    highest: Decimal
    ended_at: datetime | None = None

    def lasted(self) -> timedelta:
        return (self.ended_at or self.last_at) - self.started_at

    def overlaps(self, excursion: Excursion) -> bool:
        return (
            excursion.kind == self.kind
            and excursion.started_at <= (self.ended_at or _NEVER)
            and self.started_at <= (excursion.ended_at or _NEVER)
        )


def _runs(readings: Iterable[tuple[datetime, Decimal]]) -> list[_Run]:
    """Return the runs of out-of-range readings, given readings in time order."""
    runs: list[_Run] = []
    current: _Run | None = None
    for at, celsius in readings:
        kind = reading_kind(celsius)
        if current is not None and kind != current.kind:
            current.ended_at = at
            current = None
        if kind is None:
            continue
        if current is None:
            current = _Run(kind, at, at, celsius, celsius)
            runs.append(current)
        else:
            current.last_at = at
            current.lowest = min(current.lowest, celsius)
            current.highest = max(current.highest, celsius)
    return runs


def _is_excursion(run: _Run, minutes: int) -> bool:
    if run.kind == Excursion.Kind.FREEZE:
        return True
    return run.lasted() > timedelta(minutes=minutes)


def _excursion_minutes(equipment: Equipment) -> int:
    country = equipment.store.region.country
    minutes = country.setting("stock", "excursion_minutes", DEFAULT_EXCURSION_MINUTES)
    return int(minutes)


def _excursions_update(
    equipment: Equipment, first: datetime, last: datetime, *, actor: User | None, label: str
) -> list[Excursion]:
    """Recompute the equipment's excursions where readings from first to last changed them.

    Return the excursions raised.
    """
    if equipment.kind in UNRULED_KINDS:
        return []
    readings = TemperatureReading.objects.filter(equipment=equipment)
    in_range = Q(celsius__gte=LOW, celsius__lte=HIGH)
    since = (
        readings.filter(in_range, at__lt=first).order_by("-at").values_list("at", flat=True).first()
    )
    until = (
        readings.filter(in_range, at__gt=last).order_by("at").values_list("at", flat=True).first()
    )
    window = readings
    excursions = Excursion.objects.filter(equipment=equipment)
    if since is not None:
        window = window.filter(at__gte=since)
        excursions = excursions.filter(started_at__gt=since)
    if until is not None:
        window = window.filter(at__lte=until)
        excursions = excursions.filter(started_at__lt=until)
    minutes = _excursion_minutes(equipment)
    found = [
        run
        for run in _runs(window.order_by("at").values_list("at", "celsius"))
        if _is_excursion(run, minutes)
    ]
    unmatched = list(excursions.order_by("started_at", "pk"))
    raised = []
    for run in found:
        match = next((one for one in unmatched if run.overlaps(one)), None)
        if match is None:
            raised.append(_raise(equipment, run, actor=actor, label=label))
            continue
        unmatched.remove(match)
        _follow(equipment, match, run)
    for gone in unmatched:
        audit_record(
            actor=actor,
            actor_label=label,
            action="excursion.withdraw",
            obj=gone,
            data={"kind": gone.kind, "started_at": gone.started_at.isoformat()},
        )
        gone.delete()
    return raised


def _raise(equipment: Equipment, run: _Run, *, actor: User | None, label: str) -> Excursion:
    """Record a new excursion, flag the store's batches for a check, and raise the alert."""
    excursion = Excursion.objects.create(
        equipment=equipment,
        kind=run.kind,
        started_at=run.started_at,
        ended_at=run.ended_at,
        lowest=run.lowest,
        highest=run.highest,
        alerted_at=timezone.now(),
    )
    batches = _flag_batches(equipment.store)
    audit_record(
        actor=actor,
        actor_label=label,
        action="excursion.raise",
        obj=excursion,
        data={
            "equipment": equipment.public_id,
            "kind": run.kind,
            "started_at": run.started_at.isoformat(),
            "lowest": str(run.lowest),
            "highest": str(run.highest),
            "batches": batches,
        },
    )
    return excursion


def _follow(equipment: Equipment, excursion: Excursion, run: _Run) -> None:
    """Bring a recorded excursion to its recomputed span; while it lasts, flag new stock too."""
    changes = {
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "lowest": run.lowest,
        "highest": run.highest,
    }
    changed = [name for name, value in changes.items() if getattr(excursion, name) != value]
    if changed:
        for name in changed:
            setattr(excursion, name, changes[name])
        excursion.save(update_fields=changed)
    if run.ended_at is None:
        _flag_batches(equipment.store)


def _flag_batches(store: Store) -> list[str]:
    """Mark every batch the store holds as due a vial monitor check; return their public ids."""
    held = list(
        Batch.objects.filter(balances__store=store, balances__doses__gt=0)
        .order_by("pk")
        .values_list("pk", "public_id")
    )
    Batch.objects.filter(pk__in=[pk for pk, _public in held], vvm_check_due=False).update(
        vvm_check_due=True
    )
    return [public for _pk, public in held]


def excursion_acknowledge(*, excursion: Excursion, by: User) -> Excursion:
    """Record that someone has seen the excursion's alert and is acting on it."""
    now = timezone.now()
    with transaction.atomic():
        done = Excursion.objects.filter(pk=excursion.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=by
        )
        if done != 1:
            if not Excursion.objects.filter(pk=excursion.pk).exists():
                raise NotFound()
            raise DomainError(
                "excursion_acknowledged", _("This excursion has already been acknowledged.")
            )
        excursion.acknowledged_at = now
        excursion.acknowledged_by = by
        audit_record(actor=by, action="excursion.acknowledge", obj=excursion)
    return excursion
