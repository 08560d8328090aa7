"""Public availability: the sessions each centre offers and how many places are left online.

These are the reads behind the CoWIN-compatible API. Each takes a fixed number of queries
however many centres it covers. Answers are kept in Django's cache (Redis in production)
for a few seconds; `availability_changed(session)` makes every cached answer about the
session's district stale at once, so that a booking or a cancellation shows immediately.
Each process also keeps the answers it served last, kept current by the changes every
process publishes (`_Feed`), or else by the districts' versions read from the shared cache
(see `cached`).
"""

import functools
import hashlib
import json
import math
import os
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import time as _wall_clock
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from vaxnet.booking.models import Draw, Session, SessionDose, Slot
from vaxnet.core.cache import Subscription
from vaxnet.core.i18n import localized
from vaxnet.core.ratelimit import Held, count_held_and_read, count_held_soon
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region

# How long an answer is kept at most; a release or a booking makes it stale sooner.
CACHE_SECONDS = 30
STATE_DEPTH = 1
DISTRICT_DEPTH = 2
BLOCK_DEPTH = 3
EARTH_RADIUS_KM = 6371.0088

T = TypeVar("T")
_Sessions = TypeVar("_Sessions", bound=QuerySet[Any])


@dataclass(frozen=True)
class Place:
    """The regions a centre lies in, from the state down; any may be missing."""

    state: Region | None
    district: Region | None
    block: Region | None


@dataclass(frozen=True)
class SlotSeats:
    """A time slot and how many people can still book it online now."""

    starts_at: time
    ends_at: time
    seats: int


@dataclass(frozen=True)
class SessionAvailability:
    """A session and its places open online now, per dose number and per slot."""

    session: Session
    by_dose: dict[int, int]
    slots: tuple[SlotSeats, ...]

    @property
    def total(self) -> int:
        """Return the online places left over all doses."""
        return sum(self.by_dose.values())

    def for_dose(self, number: int) -> int:
        """Return the online places left for one dose (0 when the dose is not offered)."""
        return self.by_dose.get(number, 0)


@dataclass(frozen=True)
class CentreAvailability:
    """A centre, where it is, and its sessions in the dates asked for."""

    facility: Facility
    place: Place
    sessions: tuple[SessionAvailability, ...]


@dataclass(frozen=True)
class Availability:
    """Centres with sessions, and the next moment the answer changes without any write."""

    centres: tuple[CentreAvailability, ...]
    changes_at: datetime | None


@dataclass(frozen=True)
class NearbyCentre:
    """A centre near a point, with its distance along the Earth's surface."""

    facility: Facility
    place: Place
    distance_km: float


# Regions


def _regions() -> QuerySet[Region]:
    return Region.objects.filter(country__code=settings.VAXNET_COUNTRY)


def states() -> list[Region]:
    """Return the states (the first level below the country), by number."""
    return list(_regions().filter(depth=STATE_DEPTH).order_by("number"))


def state(number: int) -> Region | None:
    """Return the state with this number, if any."""
    return _regions().filter(depth=STATE_DEPTH, number=number).first()


def districts(of: Region) -> list[Region]:
    """Return the districts of a state, by number."""
    return list(_regions().filter(depth=DISTRICT_DEPTH, parent=of).order_by("number"))


def district(number: int) -> Region | None:
    """Return the district with this number, if any."""
    return _regions().filter(depth=DISTRICT_DEPTH, number=number).first()


def _codes(region_path: str) -> list[str]:
    """Return the region codes below the country on a path: state, district, block…"""
    return region_path.strip("/").split("/")[1:]


def district_code(region_path: str) -> str:
    """Return the code of the district on a region path (the deepest region above it)."""
    codes = _codes(region_path)
    return codes[DISTRICT_DEPTH - 1] if len(codes) >= DISTRICT_DEPTH else "".join(codes[-1:])


def places(facilities: Iterable[Facility]) -> dict[int, Place]:
    """Return the state, district and block of each facility, from one query."""
    paths = {facility.pk: _codes(facility.region_path) for facility in facilities}
    wanted = {code for codes in paths.values() for code in codes[:BLOCK_DEPTH]}
    found = _regions().in_bulk(wanted, field_name="code") if wanted else {}

    def at(codes: list[str], depth: int) -> Region | None:
        return found.get(codes[depth - 1]) if len(codes) >= depth else None

    return {
        pk: Place(
            state=at(codes, STATE_DEPTH),
            district=at(codes, DISTRICT_DEPTH),
            block=at(codes, BLOCK_DEPTH),
        )
        for pk, codes in paths.items()
    }


# Centres and sessions


def _facilities(where: dict[str, Any]) -> QuerySet[Facility]:
    return Facility.objects.filter(country__code=settings.VAXNET_COUNTRY, active=True, **where)


def centre(pk: int) -> Facility | None:
    """Return an active centre of this deployment's country by its primary key."""
    return _facilities({"pk": pk}).first()


def districts_of(where: dict[str, Any]) -> list[str]:
    """Return the district codes of the active centres matching the lookups."""
    paths = _facilities(where).values_list("region_path", flat=True).distinct()
    return sorted({district_code(path) for path in paths})


def _cutoff_hour(session: Session) -> int:
    return int(session.facility.country.setting("booking", "same_day_cutoff_hour", 24))


def draw_pending() -> Exists:
    """Return an annotation: whether the session's fair draw has yet to be made."""
    return Exists(Draw.objects.filter(session=OuterRef("pk"), status=Draw.Status.OPEN))


def draw_held(now: datetime) -> Exists:
    """Return an annotation: whether the session's fair window is over but its draw not made.

    The places then belong to the entries: a page shows none free until the draw is made.
    """
    return Exists(
        Draw.objects.filter(session=OuterRef("pk"), status=Draw.Status.OPEN, closes_at__lte=now)
    )


def _draw_pending(session: Session) -> bool:
    # The annotation when the read made it (one query for every session), else a query.
    pending = getattr(session, "draw_pending", None)
    if pending is None:
        pending = Draw.objects.filter(session=session, status=Draw.Status.OPEN).exists()
    return bool(pending)


def open_for_booking(session: Session, now: datetime) -> bool:
    """Return whether a planned session takes online bookings at this moment.

    The same rules as booking (`booking_mode` is "draw" or "open"). During the fair-draw
    window requests still get a place, so the places count as available; after it, until
    the draw is made, they belong to the entries and none is free.
    """
    refusal = session.booking_refusal(now)
    if refusal == "fair_window_open":
        return True
    return refusal is None and not _draw_pending(session)


def _window_closes_at(session: Session) -> datetime | None:
    minutes = int(session.facility.country.setting("booking", "fair_window_minutes", 0))
    return session.release_at + timedelta(minutes=minutes) if minutes else None


def _changes_at(session: Session, now: datetime) -> datetime | None:
    """Return when the session's availability next changes by the clock alone.

    The release, the close of the fair window (the places then wait for the draw, whose
    making calls `availability_changed`) and the same-day cutoff.
    """
    if session.release_at > now:
        return session.release_at
    closes_at = _window_closes_at(session)
    if closes_at is not None and closes_at > now:
        return closes_at
    cutoff = _cutoff_hour(session)
    if session.date == timezone.localdate(now) and cutoff < 24:
        moment = timezone.make_aware(datetime.combine(session.date, time(cutoff)))
        return moment if moment > now else None
    return None


def _availability(session: Session, now: datetime) -> SessionAvailability:
    is_open = open_for_booking(session, now)
    return SessionAvailability(
        session=session,
        by_dose={
            dose.dose_number: dose.available_online if is_open else 0
            for dose in session.doses.all()
        },
        slots=tuple(
            SlotSeats(
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                seats=slot.capacity - slot.booked if is_open else 0,
            )
            for slot in session.slots.all()
        ),
    )


def admits(sessions: _Sessions, *, age: int | None = None, dose: int | None = None) -> _Sessions:
    """Keep the sessions whose age window admits an age (in whole years) and offering a dose."""
    if age is not None:
        sessions = sessions.filter(min_age_years__lte=age).filter(
            Q(max_age_years__isnull=True) | Q(max_age_years__gte=age)
        )
    if dose is not None:
        sessions = sessions.filter(
            pk__in=SessionDose.objects.filter(dose_number=dose).values("session_id")
        )
    return sessions


def sessions(
    where: dict[str, Any],
    *,
    start: date,
    days: int,
    now: datetime,
    vaccine: str = "",
    age: int | None = None,
    dose: int | None = None,
) -> Availability:
    """Return the centres matching the lookups with their planned sessions from a date on.

    Sessions not yet released, already past, closed for the day or waiting for their fair
    draw are listed with no places. `age` and `dose` keep the sessions for that age and
    offering that dose. Four queries, whatever the number of centres.
    """
    found = (
        Session.objects.filter(
            facility__in=_facilities(where),
            status=Session.Status.PLANNED,
            date__gte=start,
            date__lt=start + timedelta(days=days),
        )
        .annotate(draw_pending=draw_pending())
        .select_related("vaccine", "facility", "facility__country")
        .prefetch_related(
            Prefetch("doses", queryset=SessionDose.objects.order_by("dose_number")),
            Prefetch("slots", queryset=Slot.objects.order_by("starts_at")),
        )
        .order_by("date", "vaccine__name", "pk")
    )
    if vaccine:
        found = found.filter(Q(vaccine__code__iexact=vaccine) | Q(vaccine__name__iexact=vaccine))
    found = admits(found, age=age, dose=dose)
    by_facility: dict[int, list[SessionAvailability]] = {}
    facilities: dict[int, Facility] = {}
    moments = []
    for session in found:
        facilities.setdefault(session.facility_id, session.facility)
        by_facility.setdefault(session.facility_id, []).append(_availability(session, now))
        moments.append(_changes_at(session, now))
    where_is = places(facilities.values())
    centres = sorted(
        (
            CentreAvailability(
                facility=facility, place=where_is[pk], sessions=tuple(by_facility[pk])
            )
            for pk, facility in facilities.items()
        ),
        key=lambda c: (localized(c.facility.names, settings.LANGUAGE_CODE), c.facility.pk),
    )
    upcoming = [moment for moment in moments if moment is not None]
    return Availability(centres=tuple(centres), changes_at=min(upcoming, default=None))


# Distance


def distance_km(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Return the great-circle (haversine) distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(long2 - long1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _decimal(degrees: float) -> Decimal:
    return Decimal(f"{degrees:.6f}")


def _bounding_box(latitude: float, longitude: float, radius_km: float) -> Q:
    """Return a filter for the box around a circle, which every point of the circle is in."""
    angle = radius_km / EARTH_RADIUS_KM
    slack = 1e-5  # a metre or so, against rounding to the stored six decimals
    south = math.degrees(math.radians(latitude) - angle) - slack
    north = math.degrees(math.radians(latitude) + angle) + slack
    box = Q(latitude__gte=_decimal(max(south, -90)), latitude__lte=_decimal(min(north, 90)))
    reach = math.sin(angle) / math.cos(math.radians(latitude))
    if south <= -90 or north >= 90 or reach >= 1:
        return box  # the circle takes in a pole: every longitude
    spread = math.degrees(math.asin(reach)) + slack
    west, east = longitude - spread, longitude + spread
    if west < -180:  # across the antimeridian
        return box & (Q(longitude__gte=_decimal(west + 360)) | Q(longitude__lte=_decimal(east)))
    if east > 180:
        return box & (Q(longitude__gte=_decimal(west)) | Q(longitude__lte=_decimal(east - 360)))
    return box & Q(longitude__gte=_decimal(west), longitude__lte=_decimal(east))


def centres_near(
    *, latitude: float, longitude: float, radius_km: float = 50, limit: int = 20
) -> list[NearbyCentre]:
    """Return the nearest active centres within a radius, nearest first.

    A box around the circle narrows the candidates in the database (on SQLite and
    PostgreSQL alike); the exact distances are computed here. Centres without
    coordinates are never found. Three queries.
    """
    candidates = (
        _facilities({})
        .filter(_bounding_box(latitude, longitude, radius_km))
        .values_list("pk", "code", "latitude", "longitude")
    )
    near = sorted(
        (distance_km(latitude, longitude, float(lat), float(long)), code, pk)
        for pk, code, lat, long in candidates
        if lat is not None and long is not None
    )
    chosen = [(distance, pk) for distance, _code, pk in near if distance <= radius_km][:limit]
    facilities = Facility.objects.in_bulk([pk for _distance, pk in chosen])
    where_is = places(facilities.values())
    return [
        NearbyCentre(facility=facilities[pk], place=where_is[pk], distance_km=distance)
        for distance, pk in chosen
    ]


@dataclass(frozen=True)
class Near:
    """A centre within a radius of a point: its key, where it lies, and how far it is."""

    pk: int
    region_path: str
    distance_km: float


def within(
    facilities: QuerySet[Facility], *, latitude: float, longitude: float, radius_km: float
) -> list[Near]:
    """Return the facilities within a radius of a point, nearest first (then by code).

    The same box and distance as `centres_near`; one query, however many facilities.
    """
    rows = facilities.filter(_bounding_box(latitude, longitude, radius_km)).values_list(
        "pk", "code", "region_path", "latitude", "longitude"
    )
    near = sorted(
        (distance_km(latitude, longitude, float(lat), float(long)), code, pk, path)
        for pk, code, path, lat, long in rows
        if lat is not None and long is not None
    )
    return [
        Near(pk=pk, region_path=path, distance_km=distance)
        for distance, _code, pk, path in near
        if distance <= radius_km
    ]


def centres_within(*, latitude: float, longitude: float, radius_km: float) -> list[Near]:
    """Return every active centre of the country within a radius of a point, nearest first."""
    return within(_facilities({}), latitude=latitude, longitude=longitude, radius_km=radius_km)


# The cache


def cache_key(endpoint: str, language: str, *params: object) -> str:
    """Return the cache key of one answer: the endpoint, its parameters and the language."""
    return (
        f"vaxnet:avail:{settings.VAXNET_COUNTRY}:{endpoint}:{_digest(language, *map(str, params))}"
    )


@functools.lru_cache(maxsize=1024)
def _digest(*texts: str) -> str:
    # On every request: the same few parameters again and again.
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:32]


def _version_key(district: str) -> str:
    return f"vaxnet:avail:{settings.VAXNET_COUNTRY}:district:{district}"


def _generation_key() -> str:
    # Part of every answer's versions: an emptied cache (a flush, a restart, a test's
    # cache.clear()) loses it, which makes every answer kept in a process stale too.
    return f"vaxnet:avail:{settings.VAXNET_COUNTRY}:generation"


def _version_keys(districts: tuple[str, ...]) -> list[str]:
    return [_generation_key(), *map(_version_key, districts)]


def _versions_in(found: dict[str, Any], keys: list[str]) -> tuple[str | None, ...]:
    return tuple(None if found.get(key) is None else str(found[key]) for key in keys)


def _versions(districts: tuple[str, ...], rates: Held | None = None) -> tuple[str | None, ...]:
    """Return the current versions of the generation and the districts (None: missing).

    With held rate-limit hits, count them in the same round trip.
    """
    keys = _version_keys(districts)
    return _versions_in(count_held_and_read(rates or Held(), keys), keys)


def _fresh_versions(districts: tuple[str, ...]) -> tuple[str, ...]:
    """Return the versions to keep an answer with, first giving any missing key one.

    An answer is never kept with a missing version, so that a version key lost from the
    cache (evicted, flushed) can never come back equal to one an answer was kept with.
    """
    keys = _version_keys(districts)
    found = cache.get_many(keys)
    missing = [key for key in keys if found.get(key) is None]
    if missing:
        for key in missing:
            cache.add(key, uuid.uuid4().hex, None)
        found.update(cache.get_many(missing))
    return tuple(str(found.get(key, uuid.uuid4().hex)) for key in keys)


@dataclass(frozen=True)
class _Kept:
    """An answer as kept: its districts, their versions, the answer, and when it expires."""

    scope: tuple[str, ...]
    versions: tuple[str, ...]
    value: Any
    expires_at: float  # seconds since the epoch, as time.time()
    # The generation of the change feed this answer is known current under (see `_Feed`),
    # or None: then it is served only once its versions are found unchanged.
    generation: int | None = None

    def size(self) -> int:
        """Return the bytes this answer takes when it is bytes (else count it as small)."""
        return len(self.value) if isinstance(self.value, bytes | str) else 0


class _LocalAnswers:
    """The answers this process served last, bounded in number and in bytes.

    The answer itself (often hundreds of kilobytes) is fetched from the shared cache only
    when the process has none current (see `cached`).
    """

    def __init__(self, entries: int, size: int) -> None:
        self.entries, self.size = entries, size
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> _Kept | None:
        """Return the answer kept under a key, unless it has expired."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if kept.expires_at <= now:
                self._drop(key)
                return None
            self._kept.move_to_end(key)
            return kept

    def put(self, key: str, kept: _Kept) -> None:
        """Keep an answer, forgetting the least recently used ones beyond the bounds."""
        with self._lock:
            if key in self._kept:
                self._drop(key)
            if kept.size() > self.size:
                return
            self._kept[key] = kept
            self._bytes += kept.size()
            while len(self._kept) > self.entries or self._bytes > self.size:
                self._drop(next(iter(self._kept)))

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def drop_district(self, code: str) -> None:
        """Forget every answer about a district."""
        with self._lock:
            for key in [key for key, kept in self._kept.items() if code in kept.scope]:
                self._drop(key)

    def __len__(self) -> int:
        return len(self._kept)

    def _drop(self, key: str) -> None:
        self._bytes -= self._kept.pop(key).size()


LOCAL_ANSWERS = 128
LOCAL_BYTES = 32 * 1024 * 1024
local_answers = _LocalAnswers(LOCAL_ANSWERS, LOCAL_BYTES)


def _shared(key: str, now: float) -> _Kept | None:
    entry = cache.get(key)
    if isinstance(entry, tuple) and len(entry) == 4:  # else one kept by an older release
        kept = _Kept(*entry)
        if kept.expires_at > now:
            return kept
    return None


class _Feed:
    """What this process learnt from the changes other processes published (Redis pub/sub).

    Every change to a district's availability is published on the country's channel once
    it is committed (`region_changed`). Each request reads what arrived (one poll of a
    socket, no round trip) and forgets the answers about those districts before it looks
    for its own; so an answer kept in the process is served as it is, without asking Redis
    for versions, as long as the process is subscribed. `serial` numbers the changes read;
    an answer about to be kept counts as current only if no change to its districts was
    read since the request began (its `mark`), since it may have been built before it.
    Without Redis, or while the subscription is down, answers are checked against their
    versions on every request instead; and only answers kept under the subscription's
    current generation are served unchecked, since one renewed may have missed changes.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscription: Subscription | None = None
        self.serial = 0
        self.changed_at: dict[str, int] = {}

    def read(self, wait: float = 0.0) -> tuple[int, int] | None:
        """Apply the changes published since the last read; return the mark, None if deaf.

        The mark is the subscription's generation and the serial of the last change read.
        `wait` (tests) waits that long for a first change.
        """
        subscription = self._subscription()
        if subscription is None:
            return None
        if not wait and subscription.quiet():
            # Nothing arrived since the last read: no lock to take turns on.
            return subscription.generation, self.serial
        with self.lock:
            changes = subscription.read(wait)
            if changes is None:
                return None
            for code in changes:
                self.serial += 1
                self.changed_at[code] = self.serial
                local_answers.drop_district(code)
            return subscription.generation, self.serial

    def current(self, mark: tuple[int, int] | None, scope: tuple[str, ...]) -> int | None:
        """Return the generation to keep an answer under, or None if it may be out of date."""
        if mark is None or self.read() is None:
            return None
        generation, serial = mark
        with self.lock:
            if self.subscription is None or self.subscription.generation != generation:
                return None
            if any(self.changed_at.get(code, 0) > serial for code in scope):
                return None
            return generation

    def _subscription(self) -> Subscription | None:
        default = settings.CACHES["default"]
        if default["BACKEND"] not in _REDIS_BACKENDS:
            return None
        location, channel = _first_server(default["LOCATION"]), _changes_channel()
        subscription = self.subscription
        if (
            subscription is None
            or subscription.pid != os.getpid()
            or (subscription.url, subscription.channel) != (location, channel)
        ):
            with self.lock:
                subscription = self.subscription
                if subscription is None or subscription.pid != os.getpid():
                    subscription = None  # a forked worker's copy is its parent's connection
                elif (subscription.url, subscription.channel) != (location, channel):
                    subscription.close()
                    subscription = None
                if subscription is None:
                    subscription = self.subscription = Subscription(location, channel)
                    self.changed_at.clear()
                    local_answers.clear()
        return subscription


_REDIS_BACKENDS = (
    "vaxnet.core.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",
)
feed = _Feed()


def _first_server(location: str | list[str]) -> str:
    # Django's Redis cache takes one server, or several of which the first is written to.
    servers = re.split("[;,]", location) if isinstance(location, str) else location
    return servers[0]


def _changes_channel() -> str:
    return f"vaxnet:avail:{settings.VAXNET_COUNTRY}:changes"


def cached(
    key: str,
    *,
    scope: Callable[[], Iterable[str]],
    build: Callable[[], tuple[T, datetime | None]],
    seconds: int = CACHE_SECONDS,
    rates: Held | None = None,
) -> T:
    """Return the kept answer while its districts are unchanged, else build it and keep it.

    `scope` names the district codes the answer depends on and may refuse the request;
    it runs before `build`, so that a change made while building leaves the kept answer
    stale (and rebuilt on the next request) rather than wrong. `build` returns the answer
    and the moment it changes by the clock alone (a release), which shortens its life.

    An answer is kept in this process (`local_answers`) and in the shared cache. The one
    in this process is served at once while the change feed says it is current (`_Feed`),
    with the caller's held rate-limit hits counted soon (`ratelimit.count_held_soon`);
    otherwise the districts' versions are read from the shared cache, with those hits in
    the same round trip, and the answer is fetched from there when they moved.
    """
    now = _wall_clock()
    mark = feed.read()
    local = local_answers.get(key, now)
    current: tuple[str | None, ...] | None = None
    if local is not None:
        if mark is not None and local.generation == mark[0]:
            if rates is not None:
                count_held_soon(rates)
            return cast(T, local.value)
        current = _versions(local.scope, rates)
        if current == local.versions:
            _keep_here(key, local, mark)
            return cast(T, local.value)
    elif rates is not None:
        count_held_and_read(rates, [])
    kept = _shared(key, now)
    if kept is not None:
        if local is None or kept.scope != local.scope:
            current = _versions(kept.scope)
        if current == kept.versions:
            _keep_here(key, kept, mark)
            return cast(T, kept.value)
    codes = tuple(sorted(set(scope())))
    versions = _fresh_versions(codes)
    value, changes_at = build()
    timeout = seconds
    if changes_at is not None:
        until = math.ceil((changes_at - timezone.now()).total_seconds())
        timeout = max(1, min(seconds, until))
    kept = _Kept(codes, versions, value, now + timeout)
    cache.set(key, (kept.scope, kept.versions, kept.value, kept.expires_at), timeout)
    _keep_here(key, kept, mark)
    return value


def _keep_here(key: str, kept: _Kept, mark: tuple[int, int] | None) -> None:
    """Keep an answer in this process, served at once while the feed finds it current."""
    generation = feed.current(mark, kept.scope)
    if generation != kept.generation:
        kept = replace(kept, generation=generation)
    local_answers.put(key, kept)


def _publish(code: str) -> None:
    """Give the district a new version and tell every process, in one round trip."""
    # A fresh random version rather than a counter: nothing to race on, and a version
    # key lost from the cache can never come back equal to one an answer was kept with.
    local_answers.drop_district(code)
    key, version = _version_key(code), uuid.uuid4().hex
    shared = caches["default"]
    if not isinstance(shared, RedisCache):
        shared.set(key, version, None)
        return
    client = shared._cache  # type: ignore[attr-defined]
    stored = (shared.make_and_validate_key(key), client._serializer.dumps(version))
    if hasattr(client, "commands"):  # vaxnet's client: its own connection, no pipeline object
        client.commands(("SET", *stored), ("PUBLISH", _changes_channel(), code))
        return
    pipe = client.get_client(None, write=True).pipeline(transaction=False)
    pipe.set(*stored)
    pipe.publish(_changes_channel(), code)
    pipe.execute()


def region_changed(region_path: str) -> None:
    """Make the cached availability of the district on a region path stale.

    Once the change is visible to others: at once outside a transaction, else when it
    commits (a change rolled back changes nothing).
    """
    code = district_code(region_path)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _publish(code))
    else:
        _publish(code)


def availability_changed(session: Session) -> None:
    """Make every cached availability answer about the session's district stale.

    Call it after booking, cancelling or moving an appointment, and after planning,
    changing or cancelling a session; inside or outside the transaction.
    """
    region_changed(session.facility.region_path)
