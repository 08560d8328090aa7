"""Certificate PDFs against a real server (gunicorn, PostgreSQL, Redis), and signing in-process.

Builds its own data in a throwaway PostgreSQL database (the TEST pack; PEOPLE people, each
with their own account, two doses of COVISHIELD and the final certificate `certificate_issue`
makes of them; the accounts' languages spread over en, hi and ta, with names in each
language's script), signing keys made by `vaxnet keys generate` in a temporary folder, and a
CoWIN public token per account (minted directly, as /auth/public/confirmOTP would hand out).
It serves it with gunicorn (2 workers, DEBUG off, Redis cache) and measures:

(first) one download per person through the CoWIN path
    GET /api/v2/registration/certificate/public/download?beneficiary_reference_id=…
    each person's first: the certificate is signed in three formats, its PDF rendered and
    kept (CLIENTS threads);
(a) kept downloads: the same path for every person again, now served from the kept PDF, from
    CONNECTIONS wrk connections (each request a different person's token and client address),
    against a bare Django view answering a kept PDF's bytes from memory (bench/urls.py
    `bench/bare-file`) driven the same way: the ceiling;
(b) first renders: every kept PDF deleted (the signed payloads kept: signing is (c)), then
    the same path from wrk as in (a), each round for RENDER_SECONDS over its own share of
    the people, each person at most once (the bench fails if wrk came round to a person
    again), so that every answer is a fresh render; against the bare view driven the same
    way;
(c) in-process, with the server stopped: signed payloads per second of each format (encode of
    a two-dose record) and verifications per second (each format's verify), as ratios to raw
    ES256 signing (ECDSA P-256 with SHA-256 of a 300-byte message) measured in the same run.

Pairs alternate in rounds and ratios are taken from their totals. Every answer must be a PDF
(or the bare bytes), every person must end with one kept PDF and every verification must be
valid, or the bench fails (exit status 1).

Environment: BENCH_PEOPLE (default 3000), BENCH_SECONDS (per wrk round, default 3),
BENCH_RENDER_SECONDS (per wrk round of (b), default 2: BENCH_PEOPLE / BENCH_ROUNDS people
must last it),
BENCH_ROUNDS (default 5), BENCH_CONNECTIONS (wrk connections, default 4: twice the server's
2 workers x 1 thread; more only queue), BENCH_CLIENTS (threads for first downloads,
default 4), BENCH_SIGN_SECONDS (per operation in (c), default 1.5),
BENCH_THREADS (per gthread worker, default 1: certificates are CPU work, and a second thread
in a worker only adds GIL contention; 4 threads give about 10% less), BENCH_POSTGRES (server
URL without database),
BENCH_REDIS (URL with database number; it is flushed), BENCH_PROFILE=1 (profile kept
downloads and first renders in-process with cProfile after the run).
"""

import functools
import http.client
import os
import queue
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as Time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Read by bench.booking's server settings when it is imported: one thread a worker here.
os.environ.setdefault("BENCH_THREADS", "1")

from bench.booking import (  # noqa: E402
    Run,
    _database,
    _environment,
    _free_port,
    _server,
    _server_cpu,
    _settle,
    _unreachable,
)
from bench.booking import Total as WrkTotal  # noqa: E402

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "3000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
RENDER_SECONDS = float(os.environ.get("BENCH_RENDER_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
SIGN_SECONDS = float(os.environ.get("BENCH_SIGN_SECONDS", "1.5"))
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
WRK_THREADS = 2
DOWNLOAD_PATH = "/api/v2/registration/certificate/public/download"
BARE_PATH = "/bench/bare-file"
LANGUAGES = ("en", "hi", "ta")
# A name in each language's own script, so that every render shapes it.
NAMES = {"en": "Bench Person {n}", "hi": "बेंच व्यक्ति {n}", "ta": "பெஞ்ச் நபர் {n}"}
KEPT_TARGET, KEPT_P99_MS, RENDER_TARGET = 250.0, 100.0, 100.0

# The wrk script: GET one row's path with its bearer token and client address. Thread n of
# THREADS takes rows n, n+THREADS…, and starts again from its first when it runs out. No
# response() callback: that would make wrk copy every PDF into Lua; wrk counts statuses
# of 400 and up as errors itself.
LUA = r"""
local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  rows, index, wrapped = {}, 0, 0
  local every, n = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if n % every == id then
      local path, token, address = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
      rows[#rows + 1] = wrk.format("GET", path, {
        ["Authorization"] = "Bearer " .. token,
        ["X-Real-IP"] = address,
      })
    end
    n = n + 1
  end
end

function request()
  index = index + 1
  if index > #rows then
    index, wrapped = 1, 1
  end
  return rows[index]
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d ok=%d refused=0 failed=%d "
      .. "wrapped=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.requests - e.status, e.status, wraps, e.connect + e.read + e.write + e.timeout
  ))
end
"""


@dataclass(frozen=True)
class Person:
    """One person to download for: their reference, their account's token, a client address."""

    reference: str
    token: str
    address: str


# Building the data.


def _build() -> list[Person]:
    """Build the people, their two doses, their final certificates, keys and tokens."""
    from django.core.management import call_command
    from django.utils import timezone

    from vaxnet.api.cowin_v2_auth import public_token_text
    from vaxnet.api.models import ApiToken
    from vaxnet.booking.planning import SlotSpec, session_create
    from vaxnet.certificates.models import Certificate
    from vaxnet.core.models import User
    from vaxnet.countries.models import Country, IdDocumentType
    from vaxnet.facilities.services import facility_create
    from vaxnet.geo.models import Region
    from vaxnet.people.crypto import id_number_hash
    from vaxnet.people.models import Account, Beneficiary, new_reference
    from vaxnet.stock.services import batch_register
    from vaxnet.vaccination.models import Vaccination
    from vaxnet.vaccines.models import Vaccine

    call_command("migrate", verbosity=0)
    call_command("load_country", "TEST", verbosity=0)
    call_command("keys", "generate", verbosity=0)
    country = Country.objects.get(code="TEST")
    district = Region.objects.get(country=country, code="TS-N-HIL")
    vaccine = Vaccine.objects.get(country=country, code="COVISHIELD")
    passport = IdDocumentType.objects.get(country=country, code="passport")
    now = timezone.now()
    today = timezone.localdate()
    batch = batch_register(
        by=None,
        vaccine=vaccine,
        lot_number="BENCH-LOT-4711",
        manufacturer="Serum Institute of India",
        expires_on=today + timedelta(days=365),
    )
    centre = facility_create(
        by=None,
        code="CERT-001",
        names={"en": "Bench Certificate Centre", "hi": "बेंच केंद्र", "ta": "பெஞ்ச் மையம்"},
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
        capacity={1: (10, 10)},
        slots=[SlotSpec(Time(0, 1), Time(23, 58), 10)],
        release_at=now - timedelta(days=1),
        min_age_years=18,
    )
    vaccinator = User.objects.create(username="bench-vaccinator")
    # Rows written in bulk, as the sync path writes them; the certificate comes from the
    # service, from the rows as they stand.
    accounts = Account.objects.bulk_create(
        Account(country=country, phone=f"+9195{i:08d}", language=LANGUAGES[i % 3])
        for i in range(PEOPLE)
    )
    people = Beneficiary.objects.bulk_create(
        Beneficiary(
            reference=new_reference(),
            account=account,
            country=country,
            name=NAMES[account.language].format(n=i),
            sex="female" if i % 2 else "male",
            birth_year=1950 + i % 50,
            id_type=passport,
            id_hash=id_number_hash(
                country_code="TEST", id_type_code="passport", number=f"C{i:07d}"
            ),
            id_last4=f"{i % 10000:04d}",
        )
        for i, account in enumerate(accounts)
    )
    Vaccination.objects.bulk_create(
        (
            Vaccination(
                beneficiary=person,
                vaccine=vaccine,
                target=vaccine.target,
                batch=batch,
                dose_number=dose,
                dose_kind="primary",
                given_at=now - timedelta(days=days),
                given_on=today - timedelta(days=days),
                facility=centre,
                session=session,
                vaccinator=vaccinator,
                site="left_arm",
                source=Vaccination.Source.ONLINE,
                recorded_at=now - timedelta(days=days),
            )
            for person in people
            for dose, days in ((1, 100), (2, 10))
        ),
        batch_size=2000,
    )
    _issue_all([person.pk for person in people], vaccine.target)
    finals = Certificate.objects.filter(kind=Certificate.Kind.FINAL, status="valid").count()
    if finals != PEOPLE:
        raise RuntimeError(f"{finals} final certificates issued for {PEOPLE} people")
    # Minted as /auth/public/confirmOTP does, with room for the whole run.
    tokens = ApiToken.objects.bulk_create(
        ApiToken(account=account, created_at=now, expires_at=now + timedelta(hours=6))
        for account in accounts
    )
    return [
        Person(
            reference=person.reference,
            token=public_token_text(token.public_id),
            address=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        )
        for i, (person, token) in enumerate(zip(people, tokens, strict=True))
    ]


def _issue_all(beneficiary_ids: list[int], target: str) -> None:
    """Issue each person's certificate through the service, one transaction each."""
    from vaxnet.certificates.services import certificate_issue

    for beneficiary_id in beneficiary_ids:
        certificate_issue(beneficiary_id=beneficiary_id, target=target)


def _rows_file(folder: Path, name: str, people: list[Person], path: str) -> Path:
    """Write the wrk rows for these people, in a fresh random order."""
    shuffled = random.sample(people, len(people))
    out = folder / name
    with out.open("w", encoding="utf-8") as f:
        for p in shuffled:
            f.write(f"{path}?beneficiary_reference_id={p.reference}\t{p.token}\t{p.address}\n")
    return out


# Driving the server with wrk (kept downloads).


def _wrk(master: int, url: str, lua: Path, rows: Path, seconds: float = SECONDS) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = _server_cpu(master)
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(lua),
        url,
        "--",
        str(rows),
        str(WRK_THREADS),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    line = next(text for text in done.stdout.splitlines() if text.startswith("RESULT "))
    values = dict(item.split("=") for item in line.split()[1:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
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
        cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        server_cpu_seconds=_server_cpu(master) - server_before,
    )


# Driving the server with threads (first downloads: each person exactly once).


@dataclass
class Total:
    """Requests made by threads, added up over the rounds."""

    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    server_cpu: float = 0.0
    sizes: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Return the good answers per second over all rounds."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Return a latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    @property
    def server_cpu_ms(self) -> float:
        """Return the gunicorn workers' CPU time per answer, in milliseconds."""
        return self.server_cpu * 1000 / (len(self.latencies) or 1)


def _threads(
    port: int, master: int, people: list[Person], path: str, total: Total, pdf: bool
) -> None:
    """GET the path once for each person, from CLIENTS threads on kept-alive connections."""
    jobs: queue.Queue[Person] = queue.Queue()
    for person in people:
        jobs.put(person)
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            try:
                person = jobs.get_nowait()
            except queue.Empty:
                break
            headers = {"Authorization": f"Bearer {person.token}", "X-Real-IP": person.address}
            started = time.perf_counter()
            connection.request(
                "GET", f"{path}?beneficiary_reference_id={person.reference}", headers=headers
            )
            answer = connection.getresponse()
            data = answer.read()
            took = time.perf_counter() - started
            good = answer.status == 200 and (not pdf or data.startswith(b"%PDF-"))
            with lock:
                total.latencies.append(took)
                if good:
                    total.ok += 1
                    total.sizes.append(len(data))
                else:
                    total.errors += 1
                    if total.errors <= 3:
                        print(f"    error {answer.status}: {data[:300]!r}", flush=True)
        connection.close()

    before = _server_cpu(master)
    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total.seconds += time.perf_counter() - started
    total.server_cpu += _server_cpu(master) - before


def _forget_documents() -> int:
    """Delete every kept PDF (the certificates keep their signed payloads); return how many."""
    from vaxnet.certificates.models import CertificateDocument

    deleted, _by_model = CertificateDocument.objects.all().delete()
    return deleted


def _kept_count() -> int:
    """Return how many valid certificates have a kept PDF."""
    from vaxnet.certificates.models import Certificate

    return Certificate.objects.filter(status="valid", documents__isnull=False).distinct().count()


def _median_pdf() -> bytes:
    """Return the kept PDF of median size: the ceiling answers these very bytes."""
    from django.db.models.functions import Length

    from vaxnet.certificates.models import CertificateDocument

    ordered = sorted(CertificateDocument.objects.annotate(n=Length("pdf")).values_list("n", "pk"))
    _n, pk = ordered[len(ordered) // 2]
    return bytes(CertificateDocument.objects.values_list("pdf", flat=True).get(pk=pk))


@dataclass
class Served:
    """What the server part measured."""

    first: Total
    kept: WrkTotal
    kept_bare: WrkTotal
    renders: WrkTotal
    renders_bare: WrkTotal
    pdf_size: int
    deleted: int
    kept_after: int
    generator_cores: float = 0.0


def _serve_and_measure(people: list[Person], env: dict[str, str], database: str) -> Served:
    """Serve the bench database with gunicorn and measure (first), (a) and (b)."""
    folder = Path(env["VAXNET_VAR_DIR"])
    lua = folder / "certificates.lua"
    lua.write_text(LUA, encoding="utf-8")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with _server(env, port) as master:
        # (first) every person's first download: sign, render and keep.
        first = Total()
        _threads(port, master, people, DOWNLOAD_PATH, first, pdf=True)
        pdf_size = round(sum(first.sizes) / (len(first.sizes) or 1))
        # The ceiling's body: a kept PDF of median size, answered from memory.
        Path(env["VAXNET_BENCH_BODY"]).write_bytes(_median_pdf())

        # (a) kept downloads against the bare view, wrk, alternating rounds.
        kept, kept_bare = WrkTotal([]), WrkTotal([])
        _wrk(master, base, lua, _rows_file(folder, "warm.tsv", people, DOWNLOAD_PATH))
        _wrk(master, base, lua, _rows_file(folder, "warm-bare.tsv", people, BARE_PATH))
        for round_number in range(ROUNDS):
            rows = _rows_file(folder, f"kept-{round_number}.tsv", people, DOWNLOAD_PATH)
            kept.runs.append(_wrk(master, base, lua, rows))
            rows = _rows_file(folder, f"bare-{round_number}.tsv", people, BARE_PATH)
            kept_bare.runs.append(_wrk(master, base, lua, rows))

        # (b) first renders: the kept PDFs deleted; each round its own people, each once.
        deleted = _forget_documents()
        _settle(database)
        renders, renders_bare = WrkTotal([]), WrkTotal([])
        order = random.sample(people, len(people))
        size = len(order) // ROUNDS
        for round_number in range(ROUNDS):
            chunk = order[round_number * size : (round_number + 1) * size]
            rows = _rows_file(folder, f"render-{round_number}.tsv", chunk, DOWNLOAD_PATH)
            renders.runs.append(_wrk(master, base, lua, rows, RENDER_SECONDS))
            rows = _rows_file(folder, f"render-bare-{round_number}.tsv", chunk, BARE_PATH)
            renders_bare.runs.append(_wrk(master, base, lua, rows, RENDER_SECONDS))
    return Served(
        first=first,
        kept=kept,
        kept_bare=kept_bare,
        renders=renders,
        renders_bare=renders_bare,
        pdf_size=pdf_size,
        deleted=deleted,
        kept_after=_kept_count(),
        generator_cores=kept.generator_load,
    )


# (c) Signing and verifying in-process.


def _rate(work: Callable[[], object]) -> float:
    """Return how many times a second `work` runs, over at least SIGN_SECONDS."""
    work()  # warm: imports, caches
    count, started = 0, time.perf_counter()
    while True:
        work()
        count += 1
        took = time.perf_counter() - started
        if took >= SIGN_SECONDS and count >= 5:
            return count / took


@dataclass
class Signing:
    """What (c) measured: raw ES256 and each format's encode and verify, per second."""

    es256_sign: float
    es256_verify: float
    encode: dict[str, float]
    verify: dict[str, float]
    sizes: dict[str, int]
    invalid: list[str]
    w3c_suite: str


def _signing() -> Signing:
    """Measure raw ES256, then each format's encode and verify of a two-dose record."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.conf import settings

    from vaxnet.certificates.formats import eu_dcc, shc, w3c_vc
    from vaxnet.certificates.formats.base import EU_DCC, SHC, W3C_VC
    from vaxnet.certificates.keys import keystore
    from vaxnet.certificates.models import Certificate
    from vaxnet.certificates.queries import certificate_record
    from vaxnet.certificates.trust import trust_from_store

    certificate = Certificate.objects.filter(status="valid", doses=2).order_by("pk").first()
    assert certificate is not None
    record = certificate_record(certificate)
    store = keystore()
    keys = {fmt: store.signing_key(fmt) for fmt in (W3C_VC, EU_DCC, SHC)}
    expires_at = record.issued_at + timedelta(days=settings.CERTIFICATE_VALIDITY_DAYS)
    rid = shc.revocation_id(record.certificate_id, store.rid_secret())
    trust = trust_from_store()
    at = datetime.now(UTC)

    raw_key = ec.generate_private_key(ec.SECP256R1())
    message = os.urandom(300)
    raw_signature = raw_key.sign(message, ec.ECDSA(hashes.SHA256()))
    raw_public = raw_key.public_key()
    es256_sign = _rate(lambda: raw_key.sign(message, ec.ECDSA(hashes.SHA256())))
    es256_verify = _rate(
        lambda: raw_public.verify(raw_signature, message, ec.ECDSA(hashes.SHA256()))
    )

    encoders: dict[str, Callable[[], str]] = {
        W3C_VC: lambda: w3c_vc.encode(record, keys[W3C_VC]),
        EU_DCC: lambda: eu_dcc.encode(record, keys[EU_DCC], expires_at=expires_at),
        SHC: lambda: shc.encode(record, keys[SHC], rid=rid),
    }
    verifiers: dict[str, Callable[[str], Any]] = {
        W3C_VC: lambda text: w3c_vc.verify(text, trust, at=at),
        EU_DCC: lambda text: eu_dcc.verify(text, trust, at=at),
        SHC: lambda text: shc.verify(text, trust, at=at),
    }
    encode: dict[str, float] = {}
    verify: dict[str, float] = {}
    sizes: dict[str, int] = {}
    invalid: list[str] = []
    for fmt, encoder in encoders.items():
        encode[fmt] = _rate(encoder)
        payload = encoder()
        sizes[fmt] = len(payload)
        verdict = verifiers[fmt](payload)
        if not verdict.valid:
            invalid.append(f"{fmt}: {verdict.reason} {verdict.detail}")
        verify[fmt] = _rate(functools.partial(verifiers[fmt], payload))
    return Signing(
        es256_sign=es256_sign,
        es256_verify=es256_verify,
        encode=encode,
        verify=verify,
        sizes=sizes,
        invalid=invalid,
        w3c_suite=type(keys[W3C_VC].private_key).__name__,
    )


# Profiling (BENCH_PROFILE=1).


def _profile(people: list[Person]) -> None:
    """Profile kept downloads and first renders in this process through Django's test client."""
    import cProfile
    import pstats

    from django.test import Client

    from vaxnet.certificates.models import CertificateDocument

    sample = people[:150]
    # One client: each new one builds the middleware again (WhiteNoise scans the static files).
    client = Client(HTTP_HOST="127.0.0.1")

    def download(person: Person) -> None:
        answer = client.get(
            DOWNLOAD_PATH,
            {"beneficiary_reference_id": person.reference},
            headers={"authorization": f"Bearer {person.token}", "x-real-ip": person.address},
        )
        assert answer.status_code == 200, answer.content[:300]

    for person in sample[:5]:
        download(person)  # warm: imports, fonts
    profiler = cProfile.Profile()
    profiler.enable()
    for person in sample:
        download(person)
    profiler.disable()
    print(f"profile: {len(sample)} kept downloads in-process (cumulative)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    CertificateDocument.objects.filter(
        certificate__beneficiary__reference__in=[p.reference for p in sample]
    ).delete()
    profiler = cProfile.Profile()
    profiler.enable()
    for person in sample:
        download(person)
    profiler.disable()
    print(f"profile: {len(sample)} first renders in-process (cumulative, then own time)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


# Reporting.


def _print_wrk(label: str, total: WrkTotal) -> None:
    errors = total.count("failed") + total.count("socket_errors")
    print(
        f"    {label}: {total.rate:.0f}/s, p50 {total.latency('p50_ms'):.1f} ms, "
        f"p99 {total.latency('p99_ms'):.1f} ms; {total.count('requests')} requests, "
        f"{errors} errors; server CPU {total.server_cpu_ms:.2f} ms a request"
    )


def _print_threads(label: str, total: Total) -> None:
    print(
        f"    {label}: {total.rate:.0f}/s, p50 {total.percentile(0.5):.0f} ms, "
        f"p99 {total.percentile(0.99):.0f} ms; {len(total.latencies)} requests, "
        f"{total.errors} errors; server CPU {total.server_cpu_ms:.2f} ms a request"
    )


def main() -> int:
    import redis

    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk (make install does it)", file=sys.stderr)
        return 1
    missing = _unreachable(POSTGRES, REDIS)
    if missing:
        print(f"WARNING: {missing} is unreachable; bench/certificates.py was skipped.")
        return 1 if os.environ.get("CI") == "true" else 0
    started = time.monotonic()
    database = f"vaxnet_bench_cert_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="vaxnet-bench-") as var_dir:
        env = _environment(database, var_dir)
        env["REDIS_URL"] = REDIS
        env["VAXNET_CERT_KEYS_DIR"] = str(Path(var_dir) / "keys")
        env["VAXNET_BENCH_BODY"] = str(Path(var_dir) / "certificate.pdf")
        os.environ.update(env)
        import django

        django.setup()
        redis.Redis.from_url(REDIS).flushdb()
        try:
            with _database(database):
                people = _build()
                _settle(database)
                print(
                    f"data built in {time.monotonic() - started:.0f} s: {PEOPLE} people, 2 doses "
                    f"and a final certificate each, languages {'/'.join(LANGUAGES)}; gunicorn "
                    f"2 gthread workers x {os.environ.get('BENCH_THREADS', '1')} threads; wrk "
                    f"{CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS:.0f} s; "
                    f"{CLIENTS} client threads",
                    flush=True,
                )
                served = _serve_and_measure(people, env, database)
                signing = _signing()
                if PROFILE:
                    _profile(people)
        finally:
            redis.Redis.from_url(REDIS).flushdb()

    first, kept, bare, renders, renders_bare = (
        served.first,
        served.kept,
        served.kept_bare,
        served.renders,
        served.renders_bare,
    )
    print(f"PDF: {served.pdf_size} bytes on average")
    print(f"first downloads (sign 3 formats + render + keep), {CLIENTS} threads, each person once")
    _print_threads("CoWIN download", first)
    print(
        f"(a) kept downloads: GET {DOWNLOAD_PATH}, wrk {CONNECTIONS} connections, "
        "each request another person's token and address"
    )
    _print_wrk("CoWIN download (kept PDF)", kept)
    _print_wrk("bare view, same-size bytes (ceiling)", bare)
    ratio_a = kept.rate / bare.rate if bare.rate else 0.0
    print(
        f"    ratio: {ratio_a:.2f}; wrk used {served.generator_cores:.2f} of {os.cpu_count()} cores"
    )
    print(
        f"(b) first renders: {served.deleted} kept PDFs deleted (signed payloads kept), then "
        f"wrk {CONNECTIONS} connections, {ROUNDS} rounds of {RENDER_SECONDS:.0f} s, each "
        f"person at most once"
    )
    _print_wrk("CoWIN download (fresh render)", renders)
    _print_wrk("bare view, same-size bytes (ceiling)", renders_bare)
    ratio_b = renders.rate / renders_bare.rate if renders_bare.rate else 0.0
    rendered = renders.count("ok")
    print(
        f"    ratio: {ratio_b:.2f}; {rendered} fresh renders answered, {served.kept_after} "
        f"kept PDFs after (renders still under way when a round ended are kept too)"
    )
    repeated = renders.count("wrapped")
    if repeated:
        print(
            f"    INVALID: wrk came round to people again in {repeated} rounds: raise "
            "BENCH_PEOPLE or lower BENCH_RENDER_SECONDS"
        )
    print(
        f"(c) in-process, one thread: raw ES256 sign {signing.es256_sign:.0f}/s, "
        f"verify {signing.es256_verify:.0f}/s (W3C key: {signing.w3c_suite})"
    )
    for fmt in signing.encode:
        print(
            f"    {fmt}: sign {signing.encode[fmt]:.0f}/s (ratio "
            f"{signing.encode[fmt] / signing.es256_sign:.3f}), verify {signing.verify[fmt]:.0f}/s "
            f"(ratio {signing.verify[fmt] / signing.es256_sign:.3f}); {signing.sizes[fmt]} chars"
        )
    for problem in signing.invalid:
        print(f"    INVALID: {problem}")
    kept_met = kept.rate >= KEPT_TARGET and kept.latency("p99_ms") < KEPT_P99_MS
    render_met = renders.rate >= RENDER_TARGET
    print(
        f"figures: (a) {kept.rate:.0f} kept PDFs/s, p99 {kept.latency('p99_ms'):.0f} ms "
        f"(ratio {ratio_a:.2f}; target {KEPT_TARGET:.0f}/s, p99 < {KEPT_P99_MS:.0f} ms: "
        f"{'met' if kept_met else 'not met'}); (b) {renders.rate:.0f} renders/s (ratio "
        f"{ratio_b:.2f}; target {RENDER_TARGET:.0f}/s: {'met' if render_met else 'not met'}); "
        f"(c) sign ratios "
        + ", ".join(f"{f} {signing.encode[f] / signing.es256_sign:.3f}" for f in signing.encode)
        + f"; run time {time.monotonic() - started:.0f} s"
    )
    errors = first.errors + sum(
        t.count("failed") + t.count("socket_errors") for t in (kept, bare, renders, renders_bare)
    )
    bad = (
        errors
        or signing.invalid
        or repeated
        or first.ok != PEOPLE
        or served.kept_after < rendered
        or served.kept_after > rendered + ROUNDS * CONNECTIONS
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
