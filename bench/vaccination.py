"""Recording doses against a real server: gunicorn, PostgreSQL and Redis, driven by threads.

Builds its own data in a throwaway PostgreSQL database (the TEST pack; FACILITIES centres of
one district, each with a session today, vials of a batch issued to it and its own
vaccinator; people booked and checked in, spread over every session so that no row is hot),
serves it with gunicorn (2 workers, DEBUG off, Redis cache and Celery broker in a dedicated
Redis database; no Celery worker runs, the SMS stay queued) and records doses:

(a) sync: POST /api/v1/sync/vaccinations, batches of 100 offline records (each a dose doing
    everything `vaccination_record` does: the record, the vial's dose, the appointment, the
    audit event, the SMS in the outbox, the hooks, and the kept answer), from CLIENTS
    threads, against a view writing the same rows with bulk statements and no rules
    (`/bench/vaccinations-raw`: the ceiling);
(b) single: POST /api/v1/appointments/{id}/vaccination, one dose a request with its
    Idempotency-Key, against the same raw view given one record a request.

Each pair alternates in rounds and the ratio is taken from their totals. The figures: doses
per second, p50/p99 per request, and the ratio to the ceiling. After the run every session's
doses given are checked against the records (exit status 1 on a mismatch or any error).

Environment: BENCH_ROUNDS (default 3), BENCH_SYNC_BATCHES (batches of 100 per round, default
30), BENCH_SINGLE (single doses per round, default 600), BENCH_CLIENTS (default 3: with
2 workers of 2 threads, a fourth client only queues, which lengthens the tail),
BENCH_POSTGRES (server URL without database), BENCH_REDIS (URL with database number; it is
flushed), BENCH_PROFILE=1 (profile the sync path in-process with cProfile after the run).
"""

import http.client
import json
import os
import queue
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import time as Time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.booking import _database, _free_port, _server_cpu, _settle  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SYNC_BATCHES = int(os.environ.get("BENCH_SYNC_BATCHES", "30"))
SINGLE = int(os.environ.get("BENCH_SINGLE", "600"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "3"))
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
WORKERS = 2
THREADS = 2
FACILITIES = 40
BATCH = 100
CSRF = "b" * 32
SYNC_PATH = "/api/v1/sync/vaccinations"
RAW_PATH = "/bench/vaccinations-raw"


# The server side: gunicorn loads bench.vaccination:wsgi_app(); this module is its URLconf.


def wsgi_app() -> Callable[..., Any]:
    """Return vaxnet's WSGI application with the raw ceiling's route."""
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    django.setup()
    settings.ROOT_URLCONF = "bench.vaccination"
    return WSGIHandler()


def __getattr__(name: str) -> Any:
    # The URLconf's patterns, made only when Django asks (the bench side never does).
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from vaxnet.urls import urlpatterns

    return [path(RAW_PATH.lstrip("/"), csrf_exempt(raw_vaccinations)), *urlpatterns]


def raw_vaccinations(request: Any) -> Any:
    """Write the rows a batch of doses makes, in bulk, without any rule: the ceiling.

    The same multi-row INSERTs as the sync path (`sync._insert_many`), one per table.
    """
    from django.db import transaction
    from django.db.models import F
    from django.http import HttpResponse
    from django.utils import timezone

    from vaxnet.booking.models import Appointment
    from vaxnet.core.models import AuditEvent
    from vaxnet.notifications.models import Message
    from vaxnet.stock.models import Batch, SessionStock
    from vaxnet.vaccination.models import SyncItem, Vaccination
    from vaxnet.vaccination.sync import _insert_many

    items = json.loads(request.body)["items"]
    now = timezone.now()
    with transaction.atomic():
        appointments = {
            a.public_id: a
            for a in Appointment.objects.select_for_update(of=("self",))
            .filter(public_id__in=[i["appointment"] for i in items])
            .select_related("session__vaccine", "beneficiary__account")
            .order_by("pk")
        }
        batches = {
            b.public_id: b for b in Batch.objects.filter(public_id__in={i["batch"] for i in items})
        }
        records = []
        for item in items:
            appointment = appointments[item["appointment"]]
            session = appointment.session
            records.append(
                Vaccination(
                    client_id=item["client_id"],
                    beneficiary_id=appointment.beneficiary_id,
                    vaccine_id=session.vaccine_id,
                    target=session.vaccine.target,
                    batch=batches[item["batch"]],
                    dose_number=1,
                    dose_kind="primary",
                    given_at=item["device_time"],
                    given_on=now.date(),
                    facility_id=session.facility_id,
                    session=session,
                    appointment=appointment,
                    vaccinator=request.user,
                    site=item["site"],
                    source="offline",
                    recorded_at=now,
                )
            )
        _insert_many(records)
        taken: dict[tuple[int, int], int] = {}
        for record in records:
            key = (record.session_id, record.batch_id)
            taken[key] = taken.get(key, 0) + 1
        for (session_id, batch_id), doses in sorted(taken.items()):
            SessionStock.objects.filter(session_id=session_id, batch_id=batch_id).update(
                doses_given=F("doses_given") + doses
            )
        Appointment.objects.filter(pk__in=[r.appointment_id for r in records]).update(
            status="vaccinated"
        )
        _insert_many(
            [
                AuditEvent(
                    actor=request.user,
                    actor_label=request.user.username,
                    action="vaccination.record",
                    object_type="vaccination.vaccination",
                    object_id=str(r.pk),
                    data={"dose": 1},
                )
                for r in records
            ]
        )
        _insert_many(
            [
                Message(
                    channel="sms",
                    recipient=r.appointment.beneficiary.account.phone,  # type: ignore[union-attr]
                    language="en",
                    template="dose_recorded",
                    context={},
                    body="You received dose 1.",
                    dedupe_key=f"dose_recorded:{r.public_id}",
                )
                for r in records
                if r.appointment and r.appointment.beneficiary.account_id
            ]
        )
        _insert_many(
            [
                SyncItem(
                    client_id=r.client_id,
                    by=request.user,
                    received_at=now,
                    device_time=r.given_at,
                    result="recorded",
                    record=r.public_id,
                    dose_number=1,
                )
                for r in records
            ]
        )
    body = json.dumps({"results": [{"record": r.public_id} for r in records]})
    return HttpResponse(body, content_type="application/json")


# The bench side.


@dataclass
class Staff:
    """A vaccinator's signed-in session cookie."""

    cookie: str


@dataclass
class Work:
    """One request to make: its path, body and who makes it."""

    path: str
    body: bytes
    staff: Staff
    doses: int
    key: str = ""


@dataclass
class Total:
    """Requests of one kind added up over the rounds."""

    doses: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    results: dict[str, int] = field(default_factory=dict)
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        """Return the doses recorded per second over all rounds."""
        return self.doses / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Return a latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


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
        "VAXNET_STATIC_MANIFEST": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "vaxnet.settings",
    }
    for name in ("VAXNET_DEV", "CELERY_BROKER_URL", "DATABASE_CONN_MAX_AGE"):
        env.pop(name, None)
    return env


@dataclass
class Plan:
    """What was built: per session, its vaccinator, batch and checked-in appointments."""

    sessions: list[tuple[str, str, Staff, list[str]]]


def _build(people_per_session: int) -> Plan:
    """Build the district's sessions of today, their vials, vaccinators and checked-in people."""
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from vaxnet.booking.models import Appointment
    from vaxnet.booking.planning import SlotSpec, session_create
    from vaxnet.core.models import User
    from vaxnet.countries.models import Country, IdDocumentType
    from vaxnet.facilities.models import Role, StaffMembership
    from vaxnet.facilities.services import facility_create
    from vaxnet.geo.models import Region
    from vaxnet.people.crypto import id_number_hash
    from vaxnet.people.models import Account, Beneficiary, new_reference
    from vaxnet.stock.services import batch_register, stock_issue, stock_receive
    from vaxnet.stock.stores import store_for_facility
    from vaxnet.vaccines.models import Vaccine

    call_command("migrate", verbosity=0)
    call_command("load_country", "TEST", verbosity=0)
    country = Country.objects.get(code="TEST")
    district = Region.objects.get(country=country, code="TS-N-HIL")
    vaccine = Vaccine.objects.get(country=country, code="COVISHIELD")
    passport = IdDocumentType.objects.get(country=country, code="passport")
    now = timezone.now()
    today = timezone.localdate()
    batch = batch_register(
        by=None,
        vaccine=vaccine,
        lot_number="BENCH-LOT",
        manufacturer="Maker",
        expires_on=today + timedelta(days=365),
    )
    vials = -(-people_per_session // batch.doses_per_vial)
    plan = Plan(sessions=[])
    row = 0
    for number in range(1, FACILITIES + 1):
        centre = facility_create(
            by=None,
            code=f"VAX-{number:03d}",
            names={"en": f"Bench Vaccination Centre {number}"},
            kind="public",
            region=district,
            address="Main Road",
            opens_at=Time(0),
            closes_at=Time(23, 59),
        )
        session = session_create(
            by=None,
            facility=centre,
            on=today,
            vaccine=vaccine,
            capacity={1: (10, people_per_session)},
            slots=[SlotSpec(Time(0, 1), Time(23, 58), 10)],
            release_at=now - timedelta(days=1),
            min_age_years=18,
        )
        store = store_for_facility(facility=centre, by=None)
        stock_receive(
            by=None, store=store, batch=batch, doses=vials * batch.doses_per_vial, supplier="M"
        )
        stock_issue(by=None, store=store, batch=batch, session=session, vials=vials)
        user = User.objects.create(username=f"vaccinator{number}")
        StaffMembership.objects.create(user=user, role=Role.VACCINATOR, facility=centre)
        client = Client()
        client.force_login(user)
        staff = Staff(cookie=client.cookies["sessionid"].value)
        accounts = Account.objects.bulk_create(
            Account(country=country, phone=f"+9196{row + i:08d}", language="en")
            for i in range(people_per_session)
        )
        people = Beneficiary.objects.bulk_create(
            Beneficiary(
                reference=new_reference(),
                account=account,
                country=country,
                name=f"Bench Person {row + i}",
                sex="female" if i % 2 else "male",
                birth_year=1950 + i % 50,
                id_type=passport,
                id_hash=id_number_hash(
                    country_code="TEST", id_type_code="passport", number=f"V{row + i:07d}"
                ),
                id_last4=f"{(row + i) % 10000:04d}",
            )
            for i, account in enumerate(accounts)
        )
        appointments = Appointment.objects.bulk_create(
            Appointment(
                beneficiary=person,
                session=session,
                dose_number=1,
                channel=Appointment.Channel.ONSITE,
                status=Appointment.Status.CHECKED_IN,
                security_code="1234",
                checked_in_at=now,
                checked_in_by=user,
            )
            for person in people
        )
        row += people_per_session
        plan.sessions.append(
            (session.public_id, batch.public_id, staff, [a.public_id for a in appointments])
        )
    return plan


def _sync_body(session: str, batch: str, appointments: list[str]) -> bytes:
    from django.utils import timezone

    moment = timezone.now().isoformat()
    items = [
        {
            "client_id": str(uuid.uuid4()),
            "device_time": moment,
            "session": session,
            "appointment": appointment,
            "batch": batch,
            "site": "left_arm",
            "outcome": "vaccinated",
        }
        for appointment in appointments
    ]
    return json.dumps({"items": items}).encode()


class Pool:
    """Hand out each session's unused appointments, spreading requests over every session."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.next = [0] * len(plan.sessions)
        self.turn = 0

    def take(self, count: int) -> tuple[int, list[str]]:
        """Return a session's index and `count` of its appointments not used yet."""
        for _ in range(len(self.plan.sessions)):
            index = self.turn % len(self.plan.sessions)
            self.turn += 1
            start = self.next[index]
            appointments = self.plan.sessions[index][3]
            if start + count <= len(appointments):
                self.next[index] = start + count
                return index, appointments[start : start + count]
        raise RuntimeError("the bench ran out of checked-in people: raise its sizes")


def _sync_work(pool: Pool, batches: int, path: str) -> list[Work]:
    work = []
    for _ in range(batches):
        index, appointments = pool.take(BATCH)
        session, batch, staff, _all = pool.plan.sessions[index]
        work.append(Work(path, _sync_body(session, batch, appointments), staff, BATCH))
    return work


def _single_work(pool: Pool, count: int, raw: bool) -> list[Work]:
    work = []
    for _ in range(count):
        index, (appointment,) = pool.take(1)
        session, batch, staff, _all = pool.plan.sessions[index]
        if raw:
            work.append(Work(RAW_PATH, _sync_body(session, batch, [appointment]), staff, 1))
        else:
            body = json.dumps({"batch": batch, "site": "left_arm"}).encode()
            path = f"/api/v1/appointments/{appointment}/vaccination"
            work.append(Work(path, body, staff, 1, key=str(uuid.uuid4())))
    return work


def _run(port: int, master: int, work: list[Work], total: Total) -> None:
    """Make the requests from CLIENTS threads, each on its own kept-alive connection."""
    jobs: queue.Queue[Work] = queue.Queue()
    for item in work:
        jobs.put(item)
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            try:
                item = jobs.get_nowait()
            except queue.Empty:
                break
            headers = {
                "Content-Type": "application/json",
                "Cookie": f"sessionid={item.staff.cookie}; csrftoken={CSRF}",
                "X-CSRFToken": CSRF,
            }
            if item.key:
                headers["Idempotency-Key"] = item.key
            started = time.perf_counter()
            connection.request("POST", item.path, body=item.body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            took = time.perf_counter() - started
            with lock:
                total.latencies.append(took)
                if answer.status >= 300:
                    total.errors += 1
                    if total.errors <= 3:
                        print(f"    error {answer.status}: {data[:300]!r}", flush=True)
                    continue
                results = json.loads(data).get("results")
                for result in results or [{"result": "recorded"}]:
                    kind = result.get("result", "recorded")
                    total.results[kind] = total.results.get(kind, 0) + 1
                    total.doses += kind == "recorded"
        connection.close()

    before = _server_cpu(master)
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total.seconds += time.perf_counter() - started
    total.server_cpu += _server_cpu(master) - before


def _print_pair(label: str, mine: Total, ceiling: Total, unit: str) -> float:
    ratio = mine.rate / ceiling.rate if ceiling.rate else 0.0
    for name, total in ((label, mine), ("raw bulk writes (ceiling)", ceiling)):
        cpu = total.server_cpu * 1000 / (total.doses or 1)
        print(
            f"    {name}: {total.rate:.0f} doses/s; per {unit}: p50 {total.percentile(0.5):.0f} "
            f"ms, p99 {total.percentile(0.99):.0f} ms; {total.results}, {total.errors} errors; "
            f"server CPU {cpu:.2f} ms a dose"
        )
    print(f"    ratio: {ratio:.2f}")
    return ratio


@contextmanager
def _served(env: dict[str, str], port: int) -> Iterator[int]:
    import signal
    import subprocess
    import urllib.request

    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "bench.vaccination:wsgi_app()",
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        "--worker-class=gthread",
        f"--threads={THREADS}",
        "--log-level=warning",
        "--timeout=120",
    ]
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
                    raise RuntimeError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.2)
        yield server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _mismatches() -> list[str]:
    """Return every session whose doses given differ from its valid records."""
    from django.db.models import Count, Q

    from vaxnet.stock.models import SessionStock

    problems = []
    accounts = SessionStock.objects.annotate(
        n=Count("session__vaccinations", filter=Q(session__vaccinations__status="valid"))
    )
    for account in accounts:
        if account.n != account.doses_given:
            problems.append(
                f"session {account.session_id}: {account.n} records, "
                f"{account.doses_given} doses given"
            )
    return problems


def _profile(pool: Pool) -> None:
    """Profile the sync path in this process (no HTTP) on a few batches; print the top costs."""
    import cProfile
    import pstats

    from django.utils import timezone

    from vaxnet.core.models import User
    from vaxnet.vaccination.sync import Item, vaccinations_sync

    profiler = cProfile.Profile()
    for _ in range(5):
        index, appointments = pool.take(BATCH)
        session, batch, _staff, _all = pool.plan.sessions[index]
        user = User.objects.get(username=f"vaccinator{index + 1}")
        moment = timezone.now()
        items = [
            Item(
                client_id=uuid.uuid4(),
                device_time=moment,
                session=session,
                appointment=appointment,
                batch=batch,
                site="left_arm",
            )
            for appointment in appointments
        ]
        profiler.enable()
        vaccinations_sync(by=user, items=items)
        profiler.disable()
    print("the sync path, 5 batches of 100:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    from vaxnet.booking.models import Appointment
    from vaxnet.stock.models import Batch
    from vaxnet.vaccination.services import vaccination_record

    profiler = cProfile.Profile()
    for _ in range(100):
        index, (public_id,) = pool.take(1)
        session, batch, _staff, _all = pool.plan.sessions[index]
        user = User.objects.get(username=f"vaccinator{index + 1}")
        appointment = Appointment.objects.select_related(
            "beneficiary__account", "session__facility__country", "session__vaccine"
        ).get(public_id=public_id)
        profiler.enable()
        vaccination_record(
            by=user,
            appointment=appointment,
            batch=Batch.objects.get(public_id=batch),
            site="left_arm",
        )
        profiler.disable()
    print("the single-dose service, 100 doses:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> int:
    import psycopg
    import redis

    try:
        psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3).close()
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError) as error:
        print(f"WARNING: PostgreSQL or Redis unreachable ({error}); skipped.", file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else 0
    started = time.monotonic()
    database = f"vaxnet_bench_vax_{os.getpid()}"
    sync_doses = 2 * (ROUNDS + 1) * SYNC_BATCHES * BATCH
    single_doses = 2 * (ROUNDS + 1) * SINGLE
    per_session = -(-(sync_doses + single_doses + 5 * BATCH) // FACILITIES) + 2 * BATCH
    with tempfile.TemporaryDirectory(prefix="vaxnet-bench-") as var_dir:
        env = _environment(database, var_dir)
        os.environ.update(env)
        import django

        django.setup()
        redis.Redis.from_url(REDIS).flushdb()
        try:
            with _database(database):
                plan = _build(per_session)
                _settle(database)
                print(
                    f"data built in {time.monotonic() - started:.0f} s: {FACILITIES} sessions "
                    f"today, {per_session} people checked in at each; gunicorn {WORKERS} "
                    f"gthread workers x {THREADS} threads; {CLIENTS} client threads; "
                    f"{ROUNDS} rounds",
                    flush=True,
                )
                pool = Pool(plan)
                port = _free_port()
                sync, sync_raw, single, single_raw = Total(), Total(), Total(), Total()
                with _served(env, port) as master:
                    warm = Total()
                    _run(port, master, _sync_work(pool, SYNC_BATCHES // 3 or 1, SYNC_PATH), warm)
                    _run(port, master, _sync_work(pool, SYNC_BATCHES // 3 or 1, RAW_PATH), warm)
                    _run(port, master, _single_work(pool, SINGLE // 3 or 1, raw=False), warm)
                    for _round in range(ROUNDS):
                        _run(port, master, _sync_work(pool, SYNC_BATCHES, SYNC_PATH), sync)
                        _run(port, master, _sync_work(pool, SYNC_BATCHES, RAW_PATH), sync_raw)
                        _run(port, master, _single_work(pool, SINGLE, raw=False), single)
                        _run(port, master, _single_work(pool, SINGLE, raw=True), single_raw)
                problems = _mismatches()
                if PROFILE:
                    _profile(pool)
        finally:
            redis.Redis.from_url(REDIS).flushdb()
    print(f"(a) sync: POST {SYNC_PATH}, batches of {BATCH} offline records")
    ratio_a = _print_pair("sync API", sync, sync_raw, "batch")
    print("(b) single: POST /api/v1/appointments/{id}/vaccination, one dose a request")
    ratio_b = _print_pair("single-dose API", single, single_raw, "request")
    print(
        f"doses check: {'FAILED' if problems else 'passed'} "
        "(every session: doses given = valid records)"
    )
    for problem in problems[:20]:
        print(f"  {problem}")
    target = sync.rate >= 700 and sync.percentile(0.99) < 1000
    print(
        f"figures: sync {sync.rate:.0f} doses/s (ratio {ratio_a:.2f}; target 700/s, p99 "
        f"{sync.percentile(0.99):.0f} ms < 1000: {'met' if target else 'not met'}), single "
        f"{single.rate:.0f} doses/s (ratio {ratio_b:.2f}); run time "
        f"{time.monotonic() - started:.0f} s"
    )
    errors = sum(t.errors for t in (sync, sync_raw, single, single_raw))
    return 1 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
