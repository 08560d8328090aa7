"""Availability and booking against a real server: gunicorn, PostgreSQL, Redis, and wrk.

Builds its own data in a throwaway PostgreSQL database (the TEST pack; one district of 100
centres with 7 days of sessions; accounts, beneficiaries and tokens to book with), serves
it with gunicorn (2 workers, DEBUG off, Redis cache and Celery broker in a dedicated Redis
database), and loads it with wrk on the same machine:

(a) availability: GET calendarByDistrict for the district, against a bare Django view
    that returns the same response bytes from memory;
(b) booking: POST /api/v1/appointments from 64 connections, each request a different
    account and beneficiary, against a minimal raw-SQL view doing the same reads and
    writes in one transaction (bench/urls.py). Every eighth request goes to a session
    with 5 places, so that both race for the last places.

Each pair runs in alternating rounds and the ratio is taken from their totals: the
machines are shared and noisy, so the ratio is the figure; many short rounds spread what
the machine's other work takes evenly over both sides. Each request comes from its
own client address (X-Real-IP, which vaxnet trusts as a proxy's: VAXNET_CLIENT_IP_HEADER),
so rate limits count as they would for many citizens. SMS are queued as in production:
a row in the outbox and a Celery task on the Redis broker (no worker runs; the broker's
Redis database is flushed at the end). After the run, every session is checked for
overbooking; any finding, or any server error, fails the bench (exit status 1).

Environment: BENCH_SECONDS (per round, default 3), BENCH_ROUNDS (default 8),
BENCH_WORKER_CLASS (gthread or sync; default gthread), BENCH_THREADS (per gthread worker,
default 4), BENCH_POSTGRES (server URL without database), BENCH_REDIS (URL with database
number; it is flushed), BENCH_ROWS (accounts per booking round), BENCH_VERBOSE=1 (print
every wrk run), BENCH_ONLY (availability or booking: run that half only).
"""

import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time as Time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "booking.lua"
LUA_GET = ROOT / "bench" / "booking_get.lua"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
VERBOSE = os.environ.get("BENCH_VERBOSE", "") not in ("", "0")
ONLY = os.environ.get("BENCH_ONLY", "")
if ONLY not in ("", "availability", "booking"):
    sys.exit(f"BENCH_ONLY is {ONLY!r}: availability, booking, or unset for both")
AVAILABILITY = ONLY in ("", "availability")
BOOKING = ONLY in ("", "booking")
WORKERS = 2
CONNECTIONS = 64
WRK_THREADS = 2
CENTRES = 100
DAYS = 7
SLOTS = [(Time(9), Time(11)), (Time(11), Time(13)), (Time(14), Time(16))]
PER_SLOT = 40
SMALL_PLACES = 5
SMALL_EVERY = 8
# Rows (accounts, each with one beneficiary and one token) per booking round: more than a
# round can use on this machine, so that no request books with a row already used.
ROWS_PER_ROUND = int(os.environ.get("BENCH_ROWS", str(round(1000 * SECONDS))))
WARM_ROWS = 600
BOOK_PATH = "/api/v1/appointments"
RAW_PATH = "/bench/book"


# The server side: gunicorn loads this factory (bench.booking:wsgi_app()).


def wsgi_app() -> Callable[..., Any]:
    """Return vaxnet's WSGI application with the bench routes.

    Each request carries its own client address in X-Real-IP, which vaxnet takes as a
    proxy's (VAXNET_CLIENT_IP_HEADER), so that rate limits count per client as they would
    in production instead of all requests coming from 127.0.0.1.
    """
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    django.setup()
    settings.ROOT_URLCONF = "bench.urls"
    handler = WSGIHandler()
    from vaxnet.wsgi import warm  # what gunicorn vaxnet.wsgi does as a worker starts

    warm()
    return handler


# The bench side.


@dataclass
class Run:
    """What wrk reported for one run."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ok: int
    refused: int
    failed: int
    wrapped: int
    socket_errors: int
    cpu_seconds: float
    server_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Return the successful answers per second."""
        return self.ok / self.seconds


@dataclass
class Total:
    """Runs of one endpoint added up: rates from totals, latencies averaged over runs."""

    runs: list[Run]

    @property
    def rate(self) -> float:
        """Return the successful answers per second over all runs."""
        return sum(r.ok for r in self.runs) / sum(r.seconds for r in self.runs)

    def latency(self, which: str) -> float:
        """Return a latency percentile (p50_ms or p99_ms), weighted by requests."""
        weight = sum(r.requests for r in self.runs) or 1
        return sum(getattr(r, which) * r.requests for r in self.runs) / weight

    def count(self, which: str) -> int:
        """Return a count summed over runs."""
        return sum(getattr(r, which) for r in self.runs)

    @property
    def server_cpu_ms(self) -> float:
        """Return the gunicorn workers' CPU time per answer, in milliseconds."""
        return sum(r.server_cpu_seconds for r in self.runs) * 1000 / (self.count("requests") or 1)

    @property
    def server_load(self) -> float:
        """Return the gunicorn workers' CPU time per second of running, in cores."""
        return sum(r.server_cpu_seconds for r in self.runs) / sum(r.seconds for r in self.runs)

    @property
    def generator_load(self) -> float:
        """Return wrk's CPU time per second of running, in cores."""
        return sum(r.cpu_seconds for r in self.runs) / sum(r.seconds for r in self.runs)


def _wrk(url: str, seconds: float, *args: str) -> Run:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA if args else LUA_GET),
        url,
    ]
    if args:
        command += ["--", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {err or out}")
    line = next(text for text in out.splitlines() if text.startswith("RESULT "))
    if VERBOSE:
        print(f"    {url} {' '.join(args)}: {line}", flush=True)
    values = dict(item.split("=") for item in line.split()[1:])
    return Run(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=int(values["p50_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        ok=int(values["ok"]),
        refused=int(values["refused"]),
        failed=int(values["failed"]),
        wrapped=int(values["wrapped"]),
        socket_errors=int(values["socket_errors"]),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(master: int) -> float:
    """Return the CPU seconds the master's worker processes have used so far."""
    total = 0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _timed_wrk(master: int, url: str, seconds: float, *args: str) -> Run:
    before, server_before = _cpu_of_children(), _server_cpu(master)
    run = _wrk(url, seconds, *args)
    run.cpu_seconds -= before
    run.server_cpu_seconds = _server_cpu(master) - server_before
    return run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(database: str, var_dir: str) -> dict[str, str]:
    env = {
        **os.environ,
        "VAXNET_COUNTRY": "TEST",
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "REDIS_URL": REDIS,
        "SECRET_KEY": secrets.token_hex(32),
        "VAXNET_ID_HASH_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAXNET_PUBLIC_URL": "https://bench.invalid",
        "VAXNET_VAR_DIR": var_dir,
        "VAXNET_SMS_TRANSPORT": "file",
        "VAXNET_SMS_FILE": str(Path(var_dir) / "sms.jsonl"),
        # wrk plays the proxy in front of gunicorn: each request names its client.
        "VAXNET_CLIENT_IP_HEADER": "X-Real-IP",
        "VAXNET_STATIC_MANIFEST": "0",
        # Plain HTTP on the loopback: TLS ends at the proxy in production.
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "VAXNET_BENCH_BODY": str(Path(var_dir) / "calendar.json"),
        "DJANGO_SETTINGS_MODULE": "vaxnet.settings",
    }
    for name in ("VAXNET_DEV", "CELERY_BROKER_URL", "DATABASE_CONN_MAX_AGE"):
        env.pop(name, None)
    return env


@contextmanager
def _database(name: str) -> Iterator[None]:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _settle(name: str) -> None:
    """Vacuum and analyse the bench database, so that autovacuum does not run mid-round.

    Building tens of thousands of rows wakes PostgreSQL's autovacuum, which would otherwise
    take a core in whichever round it happens to fall, unevenly between the two sides.
    """
    import psycopg

    with psycopg.connect(f"{POSTGRES}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS).flushdb()


@dataclass
class Plan:
    """The data built for the run: where to ask for availability and the booking rows."""

    calendar_path: str
    booking_files: dict[str, list[Path]]


def _build(var_dir: Path) -> Plan:
    """Build the district, its sessions and the people who book, in the bench database."""
    from django.core.management import call_command
    from django.utils import timezone

    from vaxnet.api.models import ApiToken
    from vaxnet.api.v1_auth import TOKEN_LIFETIME, token_text
    from vaxnet.booking.planning import SlotSpec, session_create
    from vaxnet.countries.models import Country, IdDocumentType
    from vaxnet.facilities.services import facility_create
    from vaxnet.geo.models import Region
    from vaxnet.people.crypto import id_number_hash
    from vaxnet.people.models import Account, Beneficiary, new_reference
    from vaxnet.vaccines.models import Vaccine

    call_command("migrate", verbosity=0)
    call_command("load_country", "TEST", verbosity=0)
    country = Country.objects.get(code="TEST")
    district = Region.objects.get(country=country, code="TS-N-HIL")
    elsewhere = Region.objects.get(country=country, code="TS-N-RIV")
    vaccine = Vaccine.objects.get(country=country, code="COVISHIELD")
    now = timezone.now()
    first_day = timezone.localdate() + timedelta(days=1)  # clear of today's booking cut-off
    released = now - timedelta(days=1)
    slots = [SlotSpec(start, end, PER_SLOT) for start, end in SLOTS]

    def facility(code: str, name: str, region: Region) -> Any:
        return facility_create(
            by=None,
            code=code,
            names={"en": name, "hi": f"{name} (hi)", "ta": f"{name} (ta)"},
            kind="public",
            region=region,
            address=f"{code} Main Road",
            opens_at=Time(9),
            closes_at=Time(17),
        )

    sessions = []
    for number in range(1, CENTRES + 1):
        centre = facility(f"BENCH-{number:03d}", f"Bench Health Centre {number}", district)
        for offset in range(DAYS):
            session = session_create(
                by=None,
                facility=centre,
                on=first_day + timedelta(days=offset),
                vaccine=vaccine,
                capacity={1: (PER_SLOT * len(SLOTS), 20)},
                slots=slots,
                release_at=released,
                min_age_years=18,
            )
            sessions.append(session.public_id)
    small_centre = facility("BENCH-SMALL", "Bench Small Centre", elsewhere)
    small = {
        phase: session_create(
            by=None,
            facility=small_centre,
            on=first_day + timedelta(days=offset),
            vaccine=vaccine,
            capacity={1: (SMALL_PLACES, 0)},
            slots=[SlotSpec(Time(9), Time(10), SMALL_PLACES)],
            release_at=released,
            min_age_years=18,
        ).public_id
        for offset, phase in enumerate(("vaxnet", "raw"))
    }

    passport = IdDocumentType.objects.get(country=country, code="passport")
    files: dict[str, list[Path]] = {"vaxnet": [], "raw": []}
    row = 0
    for phase, route in (("vaxnet", BOOK_PATH), ("raw", RAW_PATH)) if BOOKING else ():
        # The first file warms the server up (imports, connections); the others are rounds.
        for round_number, size in enumerate([WARM_ROWS] + [ROWS_PER_ROUND] * ROUNDS):
            first = row
            accounts = Account.objects.bulk_create(
                Account(country=country, phone=f"+9197{first + i:08d}", language="en")
                for i in range(size)
            )
            people = Beneficiary.objects.bulk_create(
                Beneficiary(
                    reference=new_reference(),
                    account=account,
                    country=country,
                    name=f"Bench Person {first + i}",
                    sex="female" if i % 2 else "male",
                    birth_year=1950 + i % 50,
                    id_type=passport,
                    id_hash=id_number_hash(
                        country_code="TEST", id_type_code="passport", number=f"B{first + i:07d}"
                    ),
                    id_last4=f"{(first + i) % 10000:04d}",
                )
                for i, account in enumerate(accounts)
            )
            tokens = ApiToken.objects.bulk_create(
                ApiToken(account=account, created_at=now, expires_at=now + TOKEN_LIFETIME)
                for account in accounts
            )
            path = var_dir / f"bookings-{phase}-{round_number}.tsv"
            with path.open("w", encoding="utf-8") as out:
                for i, (person, token) in enumerate(zip(people, tokens, strict=True)):
                    if i % SMALL_EVERY == 0:
                        target, start = small[phase], "09:00"
                    else:
                        target = sessions[(first + i) % len(sessions)]
                        start = f"{SLOTS[(first + i) // len(sessions) % len(SLOTS)][0]:%H:%M}"
                    body = json.dumps(
                        {"session": target, "slot": start, "beneficiaries": [person.reference]}
                    )
                    n = first + i
                    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                    out.write(f"{route}\t{token_text(token.public_id)}\t{address}\t{body}\n")
            files[phase].append(path)
            row += size
    number = district.number
    calendar = (
        "/api/v2/appointment/sessions/public/calendarByDistrict"
        f"?district_id={number}&date={first_day:%d-%m-%Y}"
    )
    return Plan(calendar_path=calendar, booking_files=files)


@contextmanager
def _server(env: dict[str, str], port: int) -> Iterator[int]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "bench.booking:wsgi_app()",
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        f"--worker-class={WORKER_CLASS}",
        f"--threads={THREADS if WORKER_CLASS == 'gthread' else 1}",
        "--backlog=2048",
        "--log-level=warning",
    ]
    # The server's log (a "Bad Request" line for each refused booking) goes to a file.
    log = Path(env["VAXNET_VAR_DIR"]) / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"gunicorn did not start:\n{tail}") from None
                time.sleep(0.2)
        yield server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310
        body: bytes = answer.read()
        return body


def _alternate(first: Callable[[int], Run], second: Callable[[int], Run]) -> tuple[Total, Total]:
    a, b = Total([]), Total([])
    for round_number in range(ROUNDS):
        a.runs.append(first(round_number))
        b.runs.append(second(round_number))
    return a, b


def _overbooking() -> list[str]:
    """Return every way the database shows more bookings than places (none, if all is well)."""
    from django.db.models import Count, F, Q

    from vaxnet.booking.models import Appointment, SessionDose, Slot

    problems = []
    live = Q(appointments__status__in=Appointment.LIVE)
    for dose in SessionDose.objects.filter(booked_online__gt=F("capacity_online")):
        problems.append(f"session {dose.session_id} dose {dose.dose_number}: over capacity")
    for slot in Slot.objects.filter(booked__gt=F("capacity")):
        problems.append(f"slot {slot.pk}: over capacity")
    counted = Appointment.objects.filter(
        status__in=Appointment.LIVE, channel=Appointment.Channel.ONLINE
    )
    by_dose = {
        (row["session_id"], row["dose_number"]): row["n"]
        for row in counted.values("session_id", "dose_number").annotate(n=Count("id"))
    }
    for dose in SessionDose.objects.all():
        found = by_dose.get((dose.session_id, dose.dose_number), 0)
        if found != dose.booked_online:
            problems.append(
                f"session {dose.session_id} dose {dose.dose_number}: "
                f"{found} appointments, counter {dose.booked_online}"
            )
    for slot in Slot.objects.annotate(n=Count("appointments", filter=live)):
        if slot.n != slot.booked:
            problems.append(f"slot {slot.pk}: {slot.n} appointments, counter {slot.booked}")
    twice = (
        Appointment.objects.filter(status__in=Appointment.LIVE)
        .values("beneficiary_id", "dose_number")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    problems += [f"beneficiary {row['beneficiary_id']} booked twice" for row in twice]
    return problems


def _print_pair(label: str, unit: str, mine: Total, ceiling_label: str, ceiling: Total) -> float:
    ratio = mine.rate / ceiling.rate
    for name, total in ((label, mine), (ceiling_label, ceiling)):
        errors = total.count("failed") + total.count("socket_errors")
        print(
            f"    {name}: {total.rate:.0f} {unit}/s, p50 {total.latency('p50_ms'):.1f} ms, "
            f"p99 {total.latency('p99_ms'):.1f} ms; {total.count('requests')} requests, "
            f"{total.count('refused')} refused, {errors} errors; "
            f"server CPU {total.server_cpu_ms:.2f} ms a request"
        )
    cpu_ratio = ceiling.server_cpu_ms / (mine.server_cpu_ms or 1)
    print(f"    ratio: {ratio:.2f} (of worker CPU per request: {cpu_ratio:.2f})")
    return ratio


def _unreachable(postgres: str = POSTGRES, redis_url: str = REDIS) -> str:
    """Return which service a bench needs and cannot reach, or nothing."""
    import psycopg
    import redis

    try:
        psycopg.connect(f"{postgres}/postgres", connect_timeout=3).close()
    except psycopg.Error:
        return f"PostgreSQL at {postgres}"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError:
        return f"Redis at {redis_url}"
    return ""


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk (make install does it)", file=sys.stderr)
        return 1
    # As `make test-postgres`: skipped with a warning, except in CI, where it fails.
    missing = _unreachable()
    if missing:
        print(f"WARNING: {missing} is unreachable; bench/booking.py was skipped.", file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else 0
    started = time.monotonic()
    database = f"vaxnet_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="vaxnet-bench-") as var_dir:
        env = _environment(database, var_dir)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        _flush_redis()
        try:
            with _database(database):
                plan = _build(Path(var_dir))
                _settle(database)
                print(
                    f"data built in {time.monotonic() - started:.0f} s; gunicorn {WORKERS} "
                    f"{WORKER_CLASS} workers"
                    + (f" x {THREADS} threads" if WORKER_CLASS == "gthread" else "")
                    + f"; wrk, {CONNECTIONS} connections; {ROUNDS} rounds of {SECONDS:.0f} s",
                    flush=True,
                )
                result = _measure(plan, env)
                problems = _overbooking()
                small_full = _small_sessions_full()
        finally:
            _flush_redis()
    ratio_a, ratio_b, errors = result
    print(
        f"overbooking check: {'FAILED' if problems else 'passed'} "
        "(every session and slot: live appointments = counter <= capacity; "
        f"no beneficiary twice per dose; the 5-place sessions: {small_full})"
    )
    for problem in problems[:20]:
        print(f"  {problem}")
    figures = []
    if ratio_a is not None:
        figures.append(f"availability ratio {ratio_a:.2f} (target 0.7)")
    if ratio_b is not None:
        figures.append(f"booking ratio {ratio_b:.2f} (target 0.5)")
    print(f"figures: {', '.join(figures)}; run time {time.monotonic() - started:.0f} s")
    return 1 if problems or errors else 0


def _measure(plan: Plan, env: dict[str, str]) -> tuple[float | None, float | None, int]:
    """Serve the bench database with gunicorn, load it with wrk, print and return the ratios.

    A half that BENCH_ONLY leaves out has no ratio (None).
    """
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    calendar_url, bare_url = base + plan.calendar_path, base + "/bench/bare-file"
    files = plan.booking_files
    threads = str(WRK_THREADS)
    with _server(env, port) as master:
        body = _get(calendar_url)
        Path(env["VAXNET_BENCH_BODY"]).write_bytes(body)
        assert _get(bare_url) == body
        totals: list[Total] = []
        if AVAILABILITY:
            for url in (calendar_url, bare_url):
                _timed_wrk(master, url, 2)  # warm up every worker and thread
            calendar, bare = _alternate(
                lambda _r: _timed_wrk(master, calendar_url, SECONDS),
                lambda _r: _timed_wrk(master, bare_url, SECONDS),
            )
            totals += [calendar, bare]
        if BOOKING:
            for phase in ("vaxnet", "raw"):
                _timed_wrk(master, base, 1, str(files[phase][0]), threads)
            booked, raw = _alternate(
                lambda r: _timed_wrk(master, base, SECONDS, str(files["vaxnet"][r + 1]), threads),
                lambda r: _timed_wrk(master, base, SECONDS, str(files["raw"][r + 1]), threads),
            )
            totals += [booked, raw]
    ratio_a = ratio_b = None
    if AVAILABILITY:
        centres = json.loads(body)["centers"]
        sessions = sum(len(centre["sessions"]) for centre in centres)
        print(
            f"(a) availability: calendarByDistrict, {len(centres)} centres, {sessions} sessions, "
            f"{len(body)} bytes; each request from its own client address"
        )
        ratio_a = _print_pair("calendarByDistrict", "req", calendar, "bare view", bare)
        print(
            f"    while serving the bare view: wrk {bare.generator_load:.2f} and gunicorn "
            f"{bare.server_load:.2f} of {os.cpu_count()} cores"
        )
    if BOOKING:
        print(
            f"(b) booking: {CONNECTIONS} connections, one account and beneficiary per request, "
            f"1 in {SMALL_EVERY} to a session with {SMALL_PLACES} places"
        )
        ratio_b = _print_pair("POST /api/v1/appointments", "booking", booked, "raw SQL", raw)
        if booked.count("wrapped") or raw.count("wrapped"):
            print("    warning: rows ran out and were used again; raise BENCH_ROWS")
    errors = sum(t.count("failed") + t.count("socket_errors") for t in totals)
    if errors:
        log = Path(env["VAXNET_VAR_DIR"]) / "gunicorn.log"
        print(f"FAILED: {errors} server errors; the end of the server's log:")
        print(log.read_text(errors="replace")[-3000:])
    return ratio_a, ratio_b, errors


def _small_sessions_full() -> str:
    from vaxnet.booking.models import SessionDose

    doses = SessionDose.objects.filter(capacity_online=SMALL_PLACES).order_by("session_id")
    return ", ".join(f"{d.booked_online}/{d.capacity_online}" for d in doses)


if __name__ == "__main__":
    sys.exit(main())
