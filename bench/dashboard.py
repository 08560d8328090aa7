"""The public dashboard at scale: millions of dose records, rollups rebuilt, API and page served.

Builds its own data in a throwaway PostgreSQL database (the IN pack: 36 states and UTs and
132 districts, so that national and district requests differ): about FACILITIES centres,
each giving one vaccine (every district has one of each, the rest give COVISHIELD where more
people live; a quarter private), a vaccinator each, a batch of each vaccine and a session a
day at every centre; then people and their dose records, written straight into the tables
with PostgreSQL COPY: an account for every two people, about two doses a person (15% one
dose, 75% two, 10% two and a precaution dose), sexes and birth years so that every age band
of the pack occurs, each person at the centres of one district (chosen by population), dose
2 at the vaccine's interval after dose 1, and an adverse event report for one dose in 4,000.
Doses 2 and 3 and lone first doses fall in the last DAYS days (in the pack's time zone);
first doses reach back as far as their interval needs. Nothing of the schema is turned off:
every index, constraint and foreign key is checked as rows go in.

The records are loaded in steps (BENCH_STEPS): up to the first, then `vaxnet rollups
rebuild` (timed), then the measures; more records up to the next step, rebuild, measure;
and so on. At each step the national total of doses the API reports must equal the valid
records in the database. The measures, with gunicorn (2 workers, DEBUG off, Redis cache in
a dedicated Redis database) and wrk (CONNECTIONS connections, each request asking for
English from its own client address), in alternating rounds:

- warm: each kind of request cycling through a few paths, answers cached as they may be
  (the cache is filled by a short run first): national (`/api/v1/dashboard`, and over 7
  days), national for one vaccine over 30 days, 16 districts with and without a date range,
  and the page (`/dashboard/`) national and for the 16 districts;
- cold: the same kinds, each request a region and date never asked before in the run, and
  the Redis database flushed before each round, so that the uncached path is what is timed;
- the ceiling: a bare Django view answering the national JSON's bytes from memory
  (`bench/bare-file` in bench/urls.py), driven the same way.

Printed per kind and step: requests a second, p50/p95/p99 (wrk's), the gunicorn workers'
CPU per request and the ratio to the ceiling; per step the load speed (records a second,
and a ratio to COPY into copies of the tables without indexes, constraints or foreign keys,
measured on the first step's records) and the rebuild time; after the measures, the fold:
the tally changes BENCH_FOLD_DOSES recordings of today write (default 7,000: 10 s of
CoWIN's peak of 700 a second) are written with COPY and folded at once, timed, with the
doses folded a second against that peak and the ratio of the COPY's time to the fold's
(the next step's rebuild drops what they added). The target: the API's p95 under
50 ms at every step, and flat (the largest step's worst API p95 within 1.5 times the
smallest step's, plus 5 ms). Any failed request, a total that differs from the records, or
a missing dashboard command or endpoint fails the bench (exit status 1).

Environment: BENCH_RECORDS (default 10000000), BENCH_STEPS (record counts to measure at,
default 100000,1000000,10000000; those above BENCH_RECORDS are dropped, and BENCH_RECORDS
is always the last), BENCH_FACILITIES (default 400), BENCH_DAYS (default 120), BENCH_SEED
(default 1), BENCH_SECONDS (per wrk round, default 3), BENCH_ROUNDS (default 3),
BENCH_CONNECTIONS (default 4), BENCH_THREADS (per gthread worker, default 2),
BENCH_LOAD_ONLY=1 (build and load every step, then stop: no dashboard needed), BENCH_KEEP=1
(wait for Enter before dropping the database, to look at it), BENCH_POSTGRES (server URL
without database), BENCH_REDIS (URL with database number; it is flushed), BENCH_VERBOSE=1
(print every wrk run and the rebuild's own summary).
"""

import bisect
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from array import array
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Read by bench.booking's server settings when it is imported.
os.environ.setdefault("BENCH_THREADS", "2")

from bench.booking import (  # noqa: E402
    _database,
    _environment,
    _free_port,
    _server,
    _server_cpu,
    _settle,
    _unreachable,
)
from vaxnet.core.checksums import _D, _INV, _P  # noqa: E402

LUA = ROOT / "bench" / "dashboard.lua"
RECORDS = int(os.environ.get("BENCH_RECORDS", "10000000"))
STEPS = sorted(
    {int(s) for s in os.environ.get("BENCH_STEPS", "100000,1000000,10000000").split(",") if s}
    | {RECORDS}
)
STEPS = [step for step in STEPS if 0 < step <= RECORDS]
FACILITIES = int(os.environ.get("BENCH_FACILITIES", "400"))
DAYS = int(os.environ.get("BENCH_DAYS", "120"))
SEED = int(os.environ.get("BENCH_SEED", "1"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/11")
LOAD_ONLY = os.environ.get("BENCH_LOAD_ONLY", "") not in ("", "0")
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
VERBOSE = os.environ.get("BENCH_VERBOSE", "") not in ("", "0")
WRK_THREADS = 2
# Doses whose changes one fold takes in (FOLD_DOSES: 10 s of CoWIN's peak of 700 a second).
FOLD_DOSES = int(os.environ.get("BENCH_FOLD_DOSES", "7000"))
PEAK_RECORDINGS = 700
# Districts the warm kinds cycle through (the cold kinds ask every district).
WARM_DISTRICTS = 16
# Ranges ending this many different days before the day asked as today (national, cold),
# or as many lengths of range from 30 days up (the page, national, cold: it has no "today").
LAGS = 12
API = "/api/v1/dashboard"
PAGE = "/dashboard/"
BARE = "/bench/bare-file"
FILL_SECONDS = 2.0
P95_TARGET_MS = 50.0
FLAT_FACTOR, FLAT_SLACK_MS = 1.5, 5.0
# People per COPY transaction: small enough that the deferred foreign-key checks queued for
# commit stay small, large enough that a commit is rare.
CHUNK = 20_000
# Days before today that sessions exist for: a precaution dose in the window, its dose 2 up
# to 240 days before, and dose 1 up to 112 days before that.
SPAN_EXTRA = 240 + 112 + 8
AEFI_EVERY = 4000
# Vaccine shares, and the ages each is given at: (share, [(band weight, first age, last)]).
MIX = {
    "COVISHIELD": (0.78, [(55, 18, 44), (25, 45, 59), (20, 60, 95)]),
    "COVAXIN": (0.17, [(10, 15, 17), (55, 18, 44), (20, 45, 59), (15, 60, 90)]),
    "CORBEVAX": (0.05, [(100, 12, 17)]),
}
PRIVATE_FEES = {"COVISHIELD": "780.00", "COVAXIN": "1410.00", "CORBEVAX": "990.00"}
LANGUAGES = ("en", "hi", "ta")
MASK60 = (1 << 60) - 1
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Three characters of a public id for each 15 bits: four lookups make a 12-character id.
TRIPLES = [ALPHABET[i >> 10] + ALPHABET[i >> 5 & 31] + ALPHABET[i & 31] for i in range(1 << 15)]


# Ids unique by construction: a bijection of the row number onto 60 bits, in base 32.


def scrambled_id(n: int, key: int) -> str:
    """Return a 12-character opaque id that no other n gives for the same key."""
    x = (n * 0x9E3779B97F4A7C15 + key) & MASK60
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & MASK60
    x ^= x >> 32
    return (
        TRIPLES[x >> 45]
        + TRIPLES[x >> 30 & 0x7FFF]
        + TRIPLES[x >> 15 & 0x7FFF]
        + TRIPLES[x & 0x7FFF]
    )


# Beneficiary references: sequential digits and the Verhoeff check digit the model wants,
# worked out from two table lookups instead of a loop over 13 digits.

REFERENCE_BASE = 7_000_000_000_000  # 13 digits, the first never 0


def _low_states() -> list[int]:
    """Return the Verhoeff state after the last four digits of a body, for each 0000–9999."""
    states = []
    for low in range(10_000):
        check = 0
        for position, digit in enumerate(reversed(f"{low:04d}")):
            check = _D[check][_P[(position + 1) % 8][int(digit)]]
        states.append(check)
    return states


class References:
    """Make the 14-digit reference of a sequence number: 13 digits and a check digit."""

    def __init__(self) -> None:
        self.low = _low_states()
        self.high = -1
        self.finish: list[int] = []

    def __call__(self, n: int) -> str:
        body = REFERENCE_BASE + n
        high, low = divmod(body, 10_000)
        if high != self.high:
            # The state after the high nine digits, for each state the low four leave.
            digits = [int(d) for d in reversed(str(high))]
            self.finish = []
            for start in range(10):
                check = start
                for position, digit in enumerate(digits):
                    check = _D[check][_P[(position + 5) % 8][digit]]
                self.finish.append(_INV[check])
            self.high = high
        return f"{body}{self.finish[self.low[low]]}"


# Building the fixed part: facilities, vaccinators, batches, sessions.


@dataclass
class VaccineInfo:
    """What the generator needs of a vaccine."""

    pk: int
    code: str
    target: str
    batch: int
    min_age: int
    interval: tuple[int, int]


@dataclass
class World:
    """The fixed part of the data, and where the generator stands."""

    country: int
    aadhaar: int
    today: date
    span: int
    vaccines: list[VaccineInfo]
    districts: list[str]
    cum_weights: list[float]
    facilities: list[list[list[int]]]  # per district, per vaccine: facility indexes
    facility_ids: list[int]
    facility_paths: list[str]
    facility_kinds: list[str]
    vaccinators: list[int]
    sessions: array  # facility index * span + days ago -> session id
    people: int = 0
    records: int = 0
    aefis: int = 0
    regions: dict[str, tuple[int, str]] = field(default_factory=dict)


def _days(text: str, default: int) -> int:
    """Return a pack interval ("84d", "26w") in days."""
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    if not text or text[-1] not in units or not text[:-1].isdigit():
        return default
    return int(text[:-1]) * units[text[-1]]


def _build_world(conn: Any) -> World:
    """Load the IN pack and build the facilities, vaccinators, batches and sessions."""
    from django.core.management import call_command
    from django.utils import timezone

    from vaxnet.core.models import User
    from vaxnet.countries.models import Country, IdDocumentType
    from vaxnet.facilities.models import Facility
    from vaxnet.geo.models import Population, Region
    from vaxnet.stock.services import batch_register
    from vaxnet.vaccines.models import Vaccine, VaccineDose

    call_command("migrate", verbosity=0)
    call_command("load_country", "IN", verbosity=0)
    country = Country.objects.get(code="IN")
    today = timezone.localdate()
    weights: dict[int, int] = {}
    for region_id, count in Population.objects.filter(
        region__country=country, region__level="district"
    ).values_list("region_id", "count"):
        weights[region_id] = weights.get(region_id, 0) + count
    districts = list(Region.objects.filter(country=country, level="district").order_by("code"))
    total = sum(weights.get(d.pk, 0) for d in districts) or 1
    vaccines = []
    for vaccine in Vaccine.objects.filter(country=country).order_by("code"):
        batch = batch_register(
            by=None,
            vaccine=vaccine,
            lot_number=f"BENCH-{vaccine.code}",
            manufacturer=vaccine.manufacturer or "Maker",
            expires_on=today + timedelta(days=365),
        )
        dose2 = VaccineDose.objects.filter(vaccine=vaccine, number=2).first()
        low = _days(dose2.min_interval if dose2 else "", 28)
        high = max(low, _days(dose2.max_interval if dose2 else "", low + 14))
        vaccines.append(
            VaccineInfo(
                pk=vaccine.pk,
                code=vaccine.code,
                target=vaccine.target,
                batch=batch.pk,
                min_age=MIX[vaccine.code][1][0][1],
                interval=(low, high),
            )
        )
    # Each centre gives one vaccine. Every district has a centre for each vaccine; the other
    # centres give the most common one and go where more people live.
    common = max(range(len(vaccines)), key=lambda i: MIX[vaccines[i].code][0])
    extra = max(0, FACILITIES - len(vaccines) * len(districts))
    facilities: list[Facility] = []
    offered: list[int] = []
    per_district: list[list[list[int]]] = []
    kinds = ["public", "public", "public", "private"]
    for d in districts:
        more = round(extra * weights.get(d.pk, 0) / total)
        mine: list[list[int]] = [[] for _ in vaccines]
        for n, vi in enumerate([*range(len(vaccines)), *[common] * more]):
            kind = kinds[len(facilities) % 4]
            name = "Primary Health Centre" if kind == "public" else "CarePlus Hospital"
            mine[vi].append(len(facilities))
            offered.append(vi)
            facilities.append(
                Facility(
                    country=country,
                    code=f"BENCH-{d.code}-{n + 1}",
                    names={"en": f"{name} {d.name} {n + 1}"},
                    kind=kind,
                    region=d,
                    region_path=d.path,
                    address="Main Road",
                )
            )
        per_district.append(mine)
    facilities = Facility.objects.bulk_create(facilities)
    users = User.objects.bulk_create(
        User(username=f"bench-vaccinator-{i}") for i in range(len(facilities))
    )
    span = DAYS + SPAN_EXTRA
    sessions = _copy_sessions(conn, facilities, offered, vaccines, today, span)
    aadhaar = IdDocumentType.objects.get(country=country, code="aadhaar").pk
    return World(
        country=country.pk,
        aadhaar=aadhaar,
        today=today,
        span=span,
        vaccines=vaccines,
        districts=[d.code for d in districts],
        cum_weights=_cumulative([weights.get(d.pk, 0) or 1 for d in districts]),
        facilities=per_district,
        facility_ids=[f.pk for f in facilities],
        facility_paths=[f.region_path for f in facilities],
        facility_kinds=[f.kind for f in facilities],
        vaccinators=[u.pk for u in users],
        sessions=sessions,
        regions={d.code: (d.pk, d.path) for d in districts},
    )


def _cumulative(weights: list[int]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _copy_sessions(
    conn: Any,
    facilities: list[Any],
    offered: list[int],
    vaccines: list[VaccineInfo],
    today: date,
    span: int,
) -> array:
    """COPY a session a day at every centre, of its vaccine; return their ids in order."""
    columns = (
        "public_id, date, min_age_years, fee, release_at, status, created_at, facility_id, "
        "vaccine_id"
    )
    n = 0
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(f"COPY booking_session ({columns}) FROM STDIN") as copy:
            for facility, vi in zip(facilities, offered, strict=True):
                v = vaccines[vi]
                fee = PRIVATE_FEES[v.code] if facility.kind == "private" else "0"
                lines = []
                for ago in range(span):
                    day = today - timedelta(days=ago)
                    status = "planned" if ago == 0 else "closed"
                    released = f"{day - timedelta(days=7)} 08:00:00+05:30"
                    lines.append(
                        f"{scrambled_id(n, 0x51)}\t{day}\t{v.min_age}\t{fee}\t{released}\t"
                        f"{status}\t{released}\t{facility.pk}\t{v.pk}\n"
                    )
                    n += 1
                copy.write("".join(lines))
        index = {f.pk: i for i, f in enumerate(facilities)}
        ids = array("q", bytes(8 * n))
        cur.execute("SELECT id, facility_id, date FROM booking_session")
        for pk, facility_id, day in cur:
            ids[index[facility_id] * span + (today - day).days] = pk
    return ids


# Loading people and their doses.


@dataclass
class Load:
    """How long a load took and what it wrote."""

    people: int
    records: int
    seconds: float


def _load(conn: Any, world: World, upto: int, rnd: random.Random) -> Load:
    """COPY people and their doses until the vaccination table holds `upto` records."""
    started = time.perf_counter()
    people_before, records_before = world.people, world.records
    references = References()
    key = hashlib.sha256(f"bench-{SEED}".encode()).digest()
    while world.records < upto:
        _load_chunk(conn, world, upto, rnd, references, key)
    with conn.transaction():
        for table in ("people_account", "people_beneficiary"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
    return Load(
        people=world.people - people_before,
        records=world.records - records_before,
        seconds=time.perf_counter() - started,
    )


def _load_chunk(
    conn: Any, world: World, upto: int, rnd: random.Random, references: References, key: bytes
) -> None:
    """COPY one chunk of people (accounts, beneficiaries, doses, AEFI) in one transaction."""
    today = world.today
    days = [str(today - timedelta(days=ago)) for ago in range(world.span + 12)]
    clock = [f"{9 + m // 60:02d}:{m % 60:02d}:{s:02d}" for m in range(480) for s in (7, 31)]
    nvax = len(world.vaccines)
    shares = _cumulative([round(MIX[v.code][0] * 100) for v in world.vaccines])
    bands = {
        v.code: (_cumulative([w for w, _lo, _hi in MIX[v.code][1]]), MIX[v.code][1])
        for v in world.vaccines
    }
    accounts, people, doses, aefis = [], [], [], []
    random_hex = os.urandom(16 * 3 * CHUNK).hex()
    hex_at = 0
    first_person = world.people
    while world.records < upto and world.people - first_person < CHUNK:
        p = world.people
        world.people += 1
        r = rnd.random() * shares[-1]
        vi = min(bisect.bisect_right(shares, r), nvax - 1)
        v = world.vaccines[vi]
        cum, spec = bands[v.code]
        _w, low_age, high_age = spec[bisect.bisect_right(cum, rnd.random() * cum[-1])]
        age = rnd.randint(low_age, high_age)
        u = rnd.random()
        sex = "male" if u < 0.505 else ("female" if u < 0.998 else "other")
        district = bisect.bisect_right(world.cum_weights, rnd.random() * world.cum_weights[-1])
        district = min(district, len(world.facilities) - 1)
        centres = world.facilities[district][vi]
        home = centres[rnd.randrange(len(centres))]
        plan = rnd.random()
        low, high = v.interval
        if plan < 0.15:
            ages = [rnd.randrange(DAYS)]
        elif plan < 0.90 or age < 18:
            second = rnd.randrange(DAYS)
            ages = [second + rnd.randint(low, high), second]
        else:
            third = rnd.randrange(DAYS)
            second = third + rnd.randint(182, 240)
            ages = [second + rnd.randint(low, high), second, third]
        if p % 2 == 0:
            accounts.append(
                f"{p // 2 + 1}\t+919{p // 2:09d}\t{LANGUAGES[p // 2 % 3]}\t"
                f"{days[ages[0] + 10]} 19:00:00+05:30\tt\t{world.country}\n"
            )
        registered = f"{days[ages[0] + 1 + p % 10]} 20:{p % 60:02d}:00+05:30"
        id_hash = hashlib.blake2b(str(p).encode(), key=key, digest_size=32).hexdigest()
        people.append(
            f"{p + 1}\t{references(p)}\tBench Person {p}\t{sex}\t{today.year - age}\t{id_hash}\t"
            f"{p % 10_000:04d}\t{registered}\t{registered}\t{p // 2 + 1}\t{world.country}\t"
            f"{world.aadhaar}\n"
        )
        for number, ago in enumerate(ages, start=1):
            centre = home if rnd.random() < 0.8 else centres[rnd.randrange(len(centres))]
            session = world.sessions[centre * world.span + ago]
            day = days[ago]
            given = f"{day} {clock[rnd.randrange(960)]}+05:30"
            offline = world.records % 10 == 0
            recorded = f"{days[ago - 1] if ago else day} 21:00:00+05:30" if offline else given
            h = random_hex[hex_at : hex_at + 32]
            hex_at += 32
            doses.append(
                f"{scrambled_id(world.records, 0x7A)}\t"
                f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}\t{v.target}\t{number}\t"
                f"{'precaution' if number == 3 else 'primary'}\t{given}\t{day}\t"
                f"{'left_arm' if world.records % 10 < 7 else 'right_arm'}\t"
                f"{'offline' if offline else 'online'}\t{recorded}\tvalid\t\t{v.batch}\t{p + 1}\t"
                f"{world.facility_ids[centre]}\t{session}\t{world.vaccinators[centre]}\t{v.pk}\n"
            )
            if world.records % AEFI_EVERY == AEFI_EVERY // 2 and number == 1:
                severity = ("minor", "minor", "minor", "severe", "serious")[world.aefis % 5]
                aefis.append(
                    f"{scrambled_id(world.aefis, 0xAE)}\t{p + 1}\t{world.facility_ids[centre]}\t"
                    f"{world.facility_paths[centre]}\t{days[max(ago - 1, 0)]} 10:00:00+05:30\t"
                    f'["fever"]\t\t{severity}\t[]\trecovered\tstaff\t\t\t'
                    f"{days[max(ago - 1, 0)]} 12:00:00+05:30\tclosed\t\n"
                )
                world.aefis += 1
            world.records += 1
    with conn.transaction(), conn.cursor() as cur:
        _copy(cur, "people_account (id, phone, language, created_at, active, country_id)", accounts)
        _copy(
            cur,
            "people_beneficiary (id, reference, name, sex, birth_year, id_hash, id_last4, "
            "created_at, updated_at, account_id, country_id, id_type_id)",
            people,
        )
        _copy(
            cur,
            "vaccination_vaccination (public_id, client_id, target, dose_number, dose_kind, "
            "given_at, given_on, site, source, recorded_at, status, error_reason, batch_id, "
            "beneficiary_id, facility_id, session_id, vaccinator_id, vaccine_id)",
            doses,
        )
        if aefis:
            _copy(
                cur,
                "vaccination_aefi (public_id, beneficiary_id, facility_id, region_path, "
                "onset_at, symptoms, description, severity, criteria, outcome, reporter_kind, "
                "reporter_name, reporter_phone, reported_at, status, follow_up)",
                aefis,
            )
            # Each report is about the person's first dose.
            cur.execute(
                "UPDATE vaccination_aefi a SET vaccination_id = v.id "
                "FROM vaccination_vaccination v WHERE a.vaccination_id IS NULL "
                "AND v.beneficiary_id = a.beneficiary_id AND v.dose_number = 1 "
                "AND v.status = 'valid'"
            )


def _copy(cur: Any, target: str, lines: list[str]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for start in range(0, len(lines), 5000):
            copy.write("".join(lines[start : start + 5000]))


def _copy_ceiling(conn: Any, world: World, count: int) -> float:
    """Return records a second COPY writes into a copy of the table without its indexes.

    The same generator, the same rows' shape and the same transaction size, into a table made
    `LIKE vaccination_vaccination` (columns and defaults, no index, constraint or foreign
    key), dropped afterwards: what loading would cost if the table had nothing to check.
    """
    scratch = World(**{**vars(world), "people": 10**9, "records": 0, "aefis": 0})
    with conn.transaction():
        conn.execute("ALTER TABLE vaccination_vaccination RENAME TO bench_vaccination_real")
        conn.execute(
            "CREATE TABLE vaccination_vaccination "
            "(LIKE bench_vaccination_real INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        conn.execute("ALTER TABLE people_beneficiary RENAME TO bench_beneficiary_real")
        conn.execute("CREATE TABLE people_beneficiary (LIKE bench_beneficiary_real)")
        conn.execute("ALTER TABLE people_account RENAME TO bench_account_real")
        conn.execute("CREATE TABLE people_account (LIKE bench_account_real)")
        conn.execute("ALTER TABLE vaccination_aefi RENAME TO bench_aefi_real")
        conn.execute(
            "CREATE TABLE vaccination_aefi "
            "(LIKE bench_aefi_real INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
    try:
        started = time.perf_counter()
        references = References()
        while scratch.records < count:
            _load_chunk(conn, scratch, count, random.Random(SEED + 1), references, b"k")
        took = time.perf_counter() - started
    finally:
        with conn.transaction():
            for table, real in (
                ("vaccination_vaccination", "bench_vaccination_real"),
                ("people_beneficiary", "bench_beneficiary_real"),
                ("people_account", "bench_account_real"),
                ("vaccination_aefi", "bench_aefi_real"),
            ):
                conn.execute(f"DROP TABLE {table}")
                conn.execute(f"ALTER TABLE {real} RENAME TO {table}")
    return scratch.records / took


# Rebuilding and checking.


@dataclass
class Fold:
    """What folding a peak's worth of recorded doses measured."""

    doses: int
    changes: int
    write_seconds: float  # COPY of the change rows: the ceiling
    fold_seconds: float

    @property
    def rate(self) -> float:
        return self.doses / self.fold_seconds


def _fold(conn: Any, world: World) -> Fold:
    """Write the tally changes FOLD_DOSES recordings write, and time one fold of them all.

    Each dose writes what `vaccination_record` does: the dose's facts, and the difference to
    what its person counts for (a first dose: a first milestone and a cohort; a dose 2: the
    complete milestone, and the cohort of dose 1 now continued). Today's doses, at centres
    chosen by population, every hour, age band and sex. The numbers they add are not in the
    records: the next step's rebuild counts from the records again.
    """
    from django.db import connection

    from vaxnet.countries.models import Country
    from vaxnet.dashboard.facts import age_bands
    from vaxnet.dashboard.models import TallyChange
    from vaxnet.dashboard.services import tallies_fold_all

    rnd = random.Random(SEED + world.records)  # apart from the loader's: steps load alike
    bands = [label for label, _low, _high in age_bands(Country.objects.get(pk=world.country))]
    day = world.today.isoformat()
    earlier = (world.today - timedelta(days=28)).isoformat()
    rows: list[str] = []
    for _ in range(FOLD_DOSES):
        district = bisect.bisect_right(world.cum_weights, rnd.random() * world.cum_weights[-1])
        region = world.regions[world.districts[district]][0]
        vi = rnd.randrange(len(world.vaccines))
        vaccine = world.vaccines[vi].code
        band, sex = rnd.choice(bands), rnd.choice(("female", "male"))
        number = 1 if rnd.random() < 0.5 else 2
        ownership = "public" if rnd.random() < 0.75 else "private"
        dose = ["dose", day, rnd.randrange(8, 18), region, vaccine, number, ownership, band, sex]
        if number == 1:
            person = [
                [["person", "first", day, region, vaccine, band, sex], 1],
                [["cohort", day, region, vaccine, False], 1],
            ]
        else:
            person = [
                [["person", "complete", day, region, vaccine, band, sex], 1],
                [["cohort", earlier, region, vaccine, False], -1],
                [["cohort", earlier, region, vaccine, True], 1],
            ]
        rows.append(json.dumps([[dose, 1]]))
        rows.append(json.dumps(person))
    table = TallyChange._meta.db_table
    started = time.perf_counter()
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(f"COPY {table} (facts, at) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row((row, f"{day} 10:00:00+05:30"))
    written = time.perf_counter() - started
    started = time.perf_counter()
    tallies_fold_all()
    folded = time.perf_counter() - started
    left = TallyChange.objects.count()
    connection.close()
    if left:
        raise RuntimeError(f"the fold left {left} changes")
    return Fold(FOLD_DOSES, len(rows), written, folded)


def _dashboard_missing() -> str:
    """Return what of the dashboard the bench needs and cannot find, or nothing."""
    from django.core.management import get_commands

    if "rollups" not in get_commands():
        return "the management command `vaxnet rollups` (vaxnet/dashboard)"
    return ""


def _rebuild(env: dict[str, str]) -> float:
    """Run `vaxnet rollups rebuild` as an operator would; return its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "vaxnet.cli", "rollups", "rebuild"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"vaxnet rollups rebuild failed:\n{done.stdout}\n{done.stderr}")
    if VERBOSE:
        print(f"    rebuild: {done.stdout.strip()}", flush=True)
    return took


def _valid_records(conn: Any) -> int:
    count: int = conn.execute(
        "SELECT count(*) FROM vaccination_vaccination WHERE status = 'valid'"
    ).fetchone()[0]
    return count


def _reported_total(data: Any) -> int | None:
    """Return the national total of doses in the API's answer, wherever it is kept."""
    for path in (
        ("totals", "doses"),
        ("doses", "total"),
        ("total", "doses"),
        ("summary", "doses"),
        ("doses_total",),
        ("total_doses",),
        ("doses",),
    ):
        value = data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, int):
            return value
        if isinstance(value, dict) and isinstance(value.get("total"), int):
            return int(value["total"])
    return None


# Driving the server.


@dataclass
class Run:
    """What wrk reported for one run."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failed: int
    wrapped: int
    socket_errors: int
    server_cpu_seconds: float


@dataclass
class Total:
    """Runs of one kind of request added up: rates from totals, latencies weighted."""

    runs: list[Run] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Return the answers a second over all runs."""
        seconds = sum(r.seconds for r in self.runs)
        return sum(r.requests - r.failed for r in self.runs) / seconds if seconds else 0.0

    def latency(self, which: str) -> float:
        """Return a latency percentile (p50_ms, p95_ms or p99_ms), weighted by requests."""
        weight = sum(r.requests for r in self.runs) or 1
        return sum(getattr(r, which) * r.requests for r in self.runs) / weight

    def count(self, which: str) -> int:
        """Return a count summed over runs."""
        return sum(getattr(r, which) for r in self.runs)

    @property
    def server_cpu_ms(self) -> float:
        """Return the gunicorn workers' CPU time per answer, in milliseconds."""
        used = sum(r.server_cpu_seconds for r in self.runs)
        return used * 1000 / (self.count("requests") or 1)


def _wrk(master: int, base: str, rows: Path, seconds: float) -> Run:
    server_before = _server_cpu(master)
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base,
        "--",
        str(rows),
        str(WRK_THREADS),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    line = next(text for text in done.stdout.splitlines() if text.startswith("RESULT "))
    if VERBOSE:
        print(f"    {rows.name}: {line}", flush=True)
    values = dict(item.split("=") for item in line.split()[1:])
    return Run(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=int(values["p50_us"]) / 1000,
        p95_ms=int(values["p95_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        failed=int(values["failed"]),
        wrapped=int(values["wrapped"]),
        socket_errors=int(values["socket_errors"]),
        server_cpu_seconds=_server_cpu(master) - server_before,
    )


@dataclass
class Kind:
    """One kind of request: its label, whether it is the API, and its paths (warm or cold)."""

    label: str
    api: bool
    cold: bool
    paths: list[str]
    total: Total = field(default_factory=Total)


def _kinds(world: World, rnd: random.Random) -> list[Kind]:
    """Return the kinds of request measured, each with its paths.

    Cold paths are a region and date (and range, vaccine) never asked before in the run:
    each appears once in a shuffled list that the rounds of every step take turns over.
    """
    today = world.today
    month = f"from={today - timedelta(days=29)}&to={today}"
    week = f"from={today - timedelta(days=6)}&to={today}"
    codes = [v.code for v in world.vaccines]
    districts = world.districts
    # Warm kinds ask few enough paths that every one is asked again within the cache's life.
    some = districts[:: max(1, len(districts) // WARM_DISTRICTS)][:WARM_DISTRICTS]
    warm_district = [f"{API}?region={d}" for d in some] + [
        f"{API}?region={d}&{month}" for d in some
    ]
    days = [today - timedelta(days=ago) for ago in range(1, DAYS)]
    # National views differ by day, vaccine and how many days before the day their range
    # ends (LAGS of them), so that no round runs out of views never asked.
    national_cold = [
        f"{API}?date={day}" + (f"&vaccine={code}" if code else "") + extra
        for day in days
        for code in ["", *codes]
        for extra in (
            "",
            *(
                f"&from={day - timedelta(days=6 + lag)}&to={day - timedelta(days=lag)}"
                for lag in range(LAGS)
            ),
        )
    ]
    filtered_cold = [
        f"{API}?date={day}"
        + (f"&vaccine={code}" if code else "")
        + f"&from={day - timedelta(days=29 + lag)}&to={day - timedelta(days=lag)}"
        for day in days
        for code in ["", *codes]
        for lag in range(LAGS)
    ]
    district_cold = [
        f"{API}?region={d}&date={day}" + (f"&from={day - timedelta(days=29)}&to={day}" if r else "")
        for d in districts
        for day in days
        for r in (0, 1)
    ]
    page_cold = [
        f"{PAGE}?region={d}&from={day - timedelta(days=29)}&to={day}"
        for d in ["", *districts]
        for day in days
    ]
    page_national_cold = [
        f"{PAGE}?from={day - timedelta(days=29 + lag)}&to={day}"
        + (f"&vaccine={code}" if code else "")
        for day in days
        for code in ["", *codes]
        for lag in range(LAGS)
    ]
    for paths in (national_cold, filtered_cold, district_cold, page_cold, page_national_cold):
        rnd.shuffle(paths)
    return [
        Kind("API national", True, False, [API, f"{API}?{week}"]),
        Kind(
            "API national, one vaccine, 30 days",
            True,
            False,
            [f"{API}?vaccine={code}&{month}" for code in codes],
        ),
        Kind("API district", True, False, warm_district),
        Kind("page national", False, False, [PAGE, f"{PAGE}?{month}"]),
        Kind("page district", False, False, [f"{PAGE}?region={d}" for d in some]),
        Kind("API national, cold", True, True, national_cold),
        Kind("API national, one vaccine, 30 days, cold", True, True, filtered_cold),
        Kind("API district, cold", True, True, district_cold),
        Kind("page national, cold", False, True, page_national_cold),
        Kind("page district, cold", False, True, page_cold),
    ]


def _rows(folder: Path, name: str, paths: list[str]) -> Path:
    out = folder / name
    out.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
    return out


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Language": "en"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            body: bytes = answer.read()
            return answer.status, body
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS).flushdb()


@dataclass
class Step:
    """What one step measured."""

    records: int
    load: Load
    vacuum_seconds: float
    rebuild_seconds: float
    kinds: list[Kind]
    bare: Total
    reported: int | None
    counted: int
    problems: list[str]
    sizes: tuple[int, int] = (0, 0)  # the national JSON and page, in bytes


def _measure(
    world: World, env: dict[str, str], records: int, load: Load, vacuum: float, rebuild: float
) -> Step:
    """Serve the database with gunicorn and measure every kind of request against the bare view."""
    import psycopg

    folder = Path(env["VAXNET_VAR_DIR"])
    rnd = random.Random(SEED + records)
    kinds = _kinds(world, rnd)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        counted = _valid_records(conn)
    _flush_redis()
    with _server(env, port) as master:
        status, body = _get(base + API)
        if status != 200:
            raise RuntimeError(f"GET {API} answered {status}: {body[:500]!r}")
        reported = _reported_total(json.loads(body))
        if reported is None:
            problems.append(f"no national total of doses found in {API}: {body[:300]!r}")
        elif reported != counted:
            problems.append(f"{API} reports {reported} doses; the database holds {counted}")
        status, page = _get(base + PAGE)
        if status != 200 or b"<html" not in page[:2000].lower():
            raise RuntimeError(f"GET {PAGE} answered {status}: {page[:500]!r}")
        # The ceiling answers the national JSON's bytes, read once per worker.
        Path(env["VAXNET_BENCH_BODY"]).write_bytes(body)
        bare = Total()
        bare_rows = _rows(folder, "bare.txt", [BARE])
        warm_rows = {
            kind.label: _rows(folder, f"warm-{i}.txt", kind.paths)
            for i, kind in enumerate(kinds)
            if not kind.cold
        }
        _wrk(master, base, bare_rows, 1)  # warm up every worker and thread
        for round_number in range(ROUNDS):
            for i, kind in enumerate(kinds):
                if kind.cold:
                    share = len(kind.paths) // ROUNDS
                    chunk = kind.paths[round_number * share : (round_number + 1) * share]
                    rows = _rows(folder, f"cold-{i}-{round_number}.txt", chunk)
                    _flush_redis()
                else:
                    rows = warm_rows[kind.label]
                    # Fill the cache first: answers live 15 s, less than a round takes.
                    _wrk(master, base, rows, FILL_SECONDS)
                kind.total.runs.append(_wrk(master, base, rows, SECONDS))
            bare.runs.append(_wrk(master, base, bare_rows, SECONDS))
    for kind in kinds:
        if kind.cold and kind.total.count("wrapped"):
            problems.append(f"{kind.label}: wrk came round to paths again (raise BENCH_DAYS)")
    errors = sum(k.total.count("failed") + k.total.count("socket_errors") for k in kinds)
    errors += bare.count("failed") + bare.count("socket_errors")
    if errors:
        log = Path(env["VAXNET_VAR_DIR"]) / "gunicorn.log"
        problems.append(f"{errors} failed requests; the end of the server's log:")
        problems.append(log.read_text(errors="replace")[-3000:])
    return Step(
        records=records,
        load=load,
        vacuum_seconds=vacuum,
        rebuild_seconds=rebuild,
        kinds=kinds,
        bare=bare,
        reported=reported,
        counted=counted,
        problems=problems,
        sizes=(len(body), len(page)),
    )


def _print_step(step: Step) -> None:
    print(
        f"  rebuild {step.rebuild_seconds:.1f} s; national total: API {step.reported}, "
        f"database {step.counted}; national JSON {step.sizes[0]:,} bytes, page "
        f"{step.sizes[1]:,} bytes; bare view {step.bare.rate:.0f} req/s, p95 "
        f"{step.bare.latency('p95_ms'):.1f} ms"
    )
    for kind in step.kinds:
        t = kind.total
        print(
            f"    {kind.label}: {t.rate:.0f} req/s, p50 {t.latency('p50_ms'):.1f} ms, "
            f"p95 {t.latency('p95_ms'):.1f} ms, p99 {t.latency('p99_ms'):.1f} ms; "
            f"{t.count('requests')} requests; server CPU {t.server_cpu_ms:.2f} ms a request; "
            f"ratio {t.rate / step.bare.rate if step.bare.rate else 0:.2f}"
        )
    for problem in step.problems:
        print(f"  FAILED: {problem}")


def _verdict(steps: list[Step]) -> tuple[bool, str]:
    """Return whether the API met its target (p95 < 50 ms at every step, flat), and why."""
    worst = {
        step.records: max(k.total.latency("p95_ms") for k in step.kinds if k.api) for step in steps
    }
    under = all(p95 < P95_TARGET_MS for p95 in worst.values())
    first, last = worst[steps[0].records], worst[steps[-1].records]
    flat = last <= first * FLAT_FACTOR + FLAT_SLACK_MS
    shown = ", ".join(f"{records:,}: {p95:.0f} ms" for records, p95 in worst.items())
    return under and flat, f"worst API p95 by step {shown}; under 50 ms {under}, flat {flat}"


def _size(conn: Any) -> str:
    size: str = conn.execute(
        "SELECT pg_size_pretty(pg_database_size(current_database()))"
    ).fetchone()[0]
    return size


def main() -> int:
    if shutil.which("wrk") is None and not LOAD_ONLY:
        print("wrk is missing: apt-get install wrk (make install does it)", file=sys.stderr)
        return 1
    missing = _unreachable(POSTGRES, REDIS)
    if missing:
        print(f"WARNING: {missing} is unreachable; bench/dashboard.py was skipped.")
        return 1 if os.environ.get("CI") == "true" else 0
    started = time.monotonic()
    database = f"vaxnet_bench_dash_{os.getpid()}"
    steps: list[Step] = []
    ceiling = 0.0
    with tempfile.TemporaryDirectory(prefix="vaxnet-bench-") as var_dir:
        env = _environment(database, var_dir)
        env["VAXNET_COUNTRY"] = "IN"
        env["REDIS_URL"] = REDIS
        env["VAXNET_BENCH_BODY"] = str(Path(var_dir) / "dashboard.json")
        os.environ.update(env)
        import django
        import psycopg

        django.setup()
        _flush_redis()
        try:
            with _database(database), psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
                world = _build_world(conn)
                missing = "" if LOAD_ONLY else _dashboard_missing()
                if missing:
                    print(f"FAILED: {missing} is missing; the dashboard is not there yet.")
                    return 1
                print(
                    f"built in {time.monotonic() - started:.0f} s: the IN pack, "
                    f"{len(world.facility_ids)} centres in {len(world.districts)} districts, "
                    f"{len(world.sessions)} sessions ({world.span} days); steps "
                    f"{', '.join(f'{s:,}' for s in STEPS)} records; gunicorn 2 "
                    f"gthread workers x {os.environ['BENCH_THREADS']} threads; wrk {CONNECTIONS} "
                    f"connections, {ROUNDS} rounds of {SECONDS:.0f} s",
                    flush=True,
                )
                rnd = random.Random(SEED)
                for records in STEPS:
                    load = _load(conn, world, records, rnd)
                    print(
                        f"step {world.records:,} records ({world.people:,} people, "
                        f"{world.aefis} AEFI): loaded {load.records:,} records in "
                        f"{load.seconds:.0f} s, {load.records / load.seconds:,.0f} records/s "
                        f"({load.people / load.seconds:,.0f} people/s)",
                        flush=True,
                    )
                    if not ceiling:
                        ceiling = _copy_ceiling(conn, world, min(records, 200_000))
                    print(
                        "  COPY into tables without indexes, constraints or foreign keys: "
                        f"{ceiling:,.0f} records/s; ratio "
                        f"{load.records / load.seconds / ceiling:.2f}",
                        flush=True,
                    )
                    vacuum_started = time.perf_counter()
                    _settle(database)
                    vacuum = time.perf_counter() - vacuum_started
                    print(f"  VACUUM ANALYZE {vacuum:.0f} s; database {_size(conn)}", flush=True)
                    if LOAD_ONLY:
                        continue
                    rebuild = _rebuild(env)
                    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as other:
                        other.execute("ANALYZE")
                    step = _measure(world, env, world.records, load, vacuum, rebuild)
                    _print_step(step)
                    steps.append(step)
                    if step.problems:
                        break
                    fold = _fold(conn, world)
                    print(
                        f"  fold: {fold.doses:,} doses' changes ({fold.changes:,} rows, "
                        f"{fold.doses / PEAK_RECORDINGS:.0f} s of a {PEAK_RECORDINGS}/s peak) "
                        f"in {fold.fold_seconds:.2f} s: {fold.rate:,.0f} doses/s, "
                        f"{fold.rate / PEAK_RECORDINGS:.1f} x the peak; ratio "
                        f"{fold.write_seconds / fold.fold_seconds:.2f} to the COPY of the "
                        f"changes ({fold.changes / fold.write_seconds:,.0f} rows/s)",
                        flush=True,
                    )
                if KEEP:
                    with contextlib.suppress(EOFError):
                        input(f"database {database} kept until Enter: ")
        finally:
            _flush_redis()
    if LOAD_ONLY:
        print(f"figures: load only; run time {time.monotonic() - started:.0f} s")
        return 0
    met, why = _verdict(steps)
    last = steps[-1]
    kinds = {k.label: k.total for k in last.kinds}
    print(
        f"figures: at {last.records:,} records, API national "
        f"{kinds['API national'].rate:.0f} req/s p95 {kinds['API national'].latency('p95_ms'):.0f} "
        f"ms, district {kinds['API district'].rate:.0f} req/s p95 "
        f"{kinds['API district'].latency('p95_ms'):.0f} ms, cold district "
        f"{kinds['API district, cold'].rate:.0f} req/s p95 "
        f"{kinds['API district, cold'].latency('p95_ms'):.0f} ms (ratio "
        f"{kinds['API district, cold'].rate / last.bare.rate:.2f}); page district p95 "
        f"{kinds['page district'].latency('p95_ms'):.0f} ms, cold "
        f"{kinds['page district, cold'].latency('p95_ms'):.0f} ms; rebuild "
        f"{last.rebuild_seconds:.0f} s; load {last.load.records / last.load.seconds:,.0f} "
        f"records/s; target (p95 < 50 ms at every step, flat): {'met' if met else 'not met'} "
        f"({why}); run time {time.monotonic() - started:.0f} s"
    )
    return 1 if any(step.problems for step in steps) or len(steps) < len(STEPS) else 0


if __name__ == "__main__":
    sys.exit(main())
