"""Booking storms through HTTP against a real server process, killed in the middle of one.

Each test serves vaxnet from a process of its own (gunicorn with two workers when it is
installed, else the threaded development server) on a database of its own: a SQLite
file, or a throwaway PostgreSQL database when the suite runs on PostgreSQL. Many clients,
each a thread with its own connection, book at once through POST /api/v1/appointments;
what the database holds afterwards is read by a helper in the server's environment.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.servers import free_port, server_env

ROOT = Path(__file__).resolve().parents[2]
VAXNET = [sys.executable, "-m", "vaxnet.cli"]
HELPER = [sys.executable, "-m", "tests.booking.storm_helper"]
FULL = {"dose_full", "slot_full"}
RETRIES = 8


def _postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="module")
def storm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Return the environment of a storm server, its database migrated and the pack loaded."""
    var = tmp_path_factory.mktemp("storm")
    env = server_env(var, LOG_LEVEL="WARNING")
    url = os.environ.get("DATABASE_URL", "")
    admin = None
    # One database per test process, so that xdist workers storm side by side.
    name = f"vaxnet_storm_{os.getpid()}"
    if _postgres(url):
        import psycopg

        admin = _with_database(url, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = _with_database(url, name)
    try:
        for args in (["migrate", "-v0"], ["load-country", "TEST"]):
            subprocess.run(
                [*VAXNET, *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300
            )
        yield env
    finally:
        if admin is not None:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _helper(env: dict[str, str], command: str, given: Any) -> Any:
    done = subprocess.run(
        [*HELPER, command],
        cwd=ROOT,
        env=env,
        input=json.dumps(given),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Server:
    """A vaxnet server process in a process group of its own, so that it dies whole."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        # Two worker processes: the race runs across processes, not only threads. Run from
        # the storm folder, where no gunicorn.conf.py changes these settings.
        cwd = log.parent
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "vaxnet.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            "--workers=2",
            "--threads=8",
            "--preload",
            "--timeout=120",
            "--log-level=warning",
        ]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"the server did not start:\n{log.read_text()}")

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one request on a connection of its own; raise OSError if it gets no answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            data = json.dumps(body) if body is not None else None
            sent = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
        except http.client.HTTPException as error:
            raise OSError(str(error)) from error
        finally:
            conn.close()
        return response.status, json.loads(raw) if raw.startswith(b"{") else raw.decode()

    def kill(self) -> None:
        """Kill the server and its workers at once, as a power cut would (minus the disk)."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def serving(env: dict[str, str]) -> Iterator[Server]:
    server = Server(env, Path(env["VAXNET_VAR_DIR"]) / "server.log")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Attempt:
    """One booking request of one client: what it asked and what it was answered, if anything."""

    client: int
    token: str
    member: str
    session: str
    slot: str
    key: str
    status: int | None = None
    answer: Any = None
    tries: int = 0
    error: str = ""

    def send(self, server: Server) -> None:
        """Post the booking with its Idempotency-Key; leave the status None without an answer."""
        self.tries += 1
        body = {"session": self.session, "slot": self.slot, "beneficiaries": [self.member]}
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": self.key}
        try:
            self.status, self.answer = server.request("POST", "/api/v1/appointments", body, headers)
        except OSError as error:
            self.status, self.answer, self.error = None, None, repr(error)

    @property
    def booked(self) -> str | None:
        """Return the id of the appointment acknowledged (201), if it was."""
        if self.status != 201:
            return None
        (appointment,) = self.answer["appointments"]
        assert appointment["beneficiary"] == self.member
        assert appointment["status"] == "booked"
        return str(appointment["id"])

    @property
    def refusal(self) -> str | None:
        """Return the error code of a refusal, or http_<status> for an answer without one."""
        if self.status is None or self.status < 400:
            return None
        if not isinstance(self.answer, dict):
            return f"http_{self.status}"  # a crash page: see server.log in the storm folder
        return str(self.answer["error"]["code"])


@dataclass
class Storm:
    """Clients that each send their attempts in turn, all starting at the same moment."""

    server: Server
    queues: list[list[Attempt]]
    stop_on_silence: bool
    acknowledged: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    kill_after: int | None = None

    def run(self) -> None:
        start = threading.Barrier(len(self.queues))

        def client(queue: list[Attempt]) -> None:
            start.wait()
            for attempt in queue:
                attempt.send(self.server)
                if attempt.status is None and self.stop_on_silence:
                    return  # the server is gone: the rest waits for it to come back
                while attempt.status is None and attempt.tries < RETRIES:
                    # No answer (the development server's short listen queue resets some
                    # connections in a storm): the same key again is safe, after a pause.
                    time.sleep(0.2 * attempt.tries)
                    attempt.send(self.server)
                if attempt.status == 201:
                    with self.lock:
                        self.acknowledged += 1
                        if self.kill_after and self.acknowledged >= self.kill_after:
                            self.enough.set()

        threads = [threading.Thread(target=client, args=(queue,)) for queue in self.queues]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads), "a client hung"


def _check_consistent(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Check the counters against the live appointments, within capacity; return those."""
    assert report["unanswered_keys"] == 0
    assert not report["answered_missing"]
    live_all = []
    here = set()
    for session in report["sessions"].values():
        here |= {a["id"] for a in session["appointments"]}
        live = [a for a in session["appointments"] if a["status"] in ("booked", "checked_in")]
        (dose,) = session["doses"]
        assert dose["booked"] == len(live) <= dose["capacity"]
        by_slot = Counter(a["slot"] for a in live)
        for start, slot in session["slots"].items():
            assert slot["booked"] == by_slot[start] <= slot["capacity"], start
        live_all.extend(live)
    assert all(a["confirmation"] for a in live_all), "a booking without its SMS"
    twice = [ref for ref, n in Counter(a["beneficiary"] for a in live_all).items() if n > 1]
    assert not twice, f"booked twice: {twice}"
    # The kept answers and the bookings agree: a replay never names a booking that is gone.
    answered = [ident for ident in report["answered"] if ident in here]
    assert sorted(answered) == sorted(a["id"] for a in live_all)
    return live_all


# The race: many clients for a small session.

CAPACITY = 5
RACERS = 30


def test_it_books_exactly_a_small_sessions_capacity_over_http(storm_env: dict[str, str]) -> None:
    made = _helper(
        storm_env,
        "setup",
        {
            "sessions": [{"capacity": CAPACITY, "slots": 1}],
            "accounts": RACERS,
            "members": 1,
            "phone_prefix": "+9197100",
            "seed": 100_000,
        },
    )
    (session,) = made["sessions"]
    queues = []
    for n, client in enumerate(made["clients"]):
        attempt = Attempt(
            n, client["token"], client["members"][0], session["id"], "09:00", f"race-{n}"
        )
        queues.append([attempt])
        if n < 5:
            # A retry racing its original (same key): the work is done once, answered twice.
            queues.append([Attempt(**{**attempt.__dict__})])
        elif n < 10:
            # A double click (another key): the member is still booked at most once.
            queues.append([Attempt(**{**attempt.__dict__, "key": f"race-{n}-again"})])

    with serving(storm_env) as server:
        Storm(server, queues, stop_on_silence=False).run()

    attempts = [a for queue in queues for a in queue]
    assert not [a.error for a in attempts if a.status is None]
    booked = {a.booked for a in attempts} - {None}
    assert len(booked) == CAPACITY
    assert {a.refusal for a in attempts} - {None} <= FULL | {"already_booked"}
    for original, twin in zip(queues[0:10:2], queues[1:10:2], strict=True):
        assert (twin[0].status, twin[0].answer) == (original[0].status, original[0].answer)
    report = _helper(storm_env, "report", [session["id"]])
    live = _check_consistent(report)
    assert {a["id"] for a in live} == booked


# The crash: the server is killed while many clients book, then comes back.

ROUNDS = 3
STORMERS = 80
ROUND_CAPACITY = 40
KILL_AFTER = 50


def test_it_keeps_every_acknowledged_booking_when_killed_mid_storm(
    storm_env: dict[str, str],
) -> None:
    made = _helper(
        storm_env,
        "setup",
        {
            "sessions": [{"capacity": ROUND_CAPACITY, "slots": 2}] * ROUNDS,
            "accounts": STORMERS,
            "members": ROUNDS,
            "phone_prefix": "+9197200",
            "seed": 200_000,
        },
    )
    sessions = made["sessions"]
    ids = [s["id"] for s in sessions]
    # Client n books its member r in session r, round after round; half of each round's
    # clients want each slot, twice as many as it holds.
    queues = [
        [
            Attempt(
                n,
                client["token"],
                client["members"][r],
                sessions[r]["id"],
                sessions[r]["slots"][n % 2],
                f"storm-{n}-{r}",
            )
            for r in range(ROUNDS)
        ]
        for n, client in enumerate(made["clients"])
    ]

    with serving(storm_env) as server:
        storm = Storm(server, queues, stop_on_silence=True, kill_after=KILL_AFTER)
        clients = threading.Thread(target=storm.run)
        clients.start()
        assert storm.enough.wait(timeout=240), "the storm did not get going"
        server.kill()
        clients.join(timeout=300)

    attempts = [a for queue in queues for a in queue]
    before = {a.key: a.booked for a in attempts if a.booked}
    in_flight = [a for a in attempts if a.tries and a.status is None]
    assert len(before) >= KILL_AFTER
    assert in_flight, "nothing was in flight when the server died"
    assert {a.refusal for a in attempts} - {None} <= FULL

    # Every acknowledged booking is stored and booked; the counters never went past capacity.
    after_crash = _check_consistent(_helper(storm_env, "report", ids))
    stored = {a["id"]: a for a in after_crash}
    assert set(before.values()) <= set(stored)
    committed = {(a["beneficiary"], a["id"]) for a in after_crash}

    # Back up on the same database, the clients send what got no answer, with the same keys,
    # and go on with their rounds.
    resumed = [[a for a in queue if a.status is None] for queue in queues]
    with serving(storm_env) as server:
        Storm(server, [q for q in resumed if q], stop_on_silence=False).run()

    assert not [a.error for a in attempts if a.status is None]
    assert {a.refusal for a in attempts} - {None} <= FULL
    for attempt in in_flight:
        # A booking made before the crash whose answer was lost is answered now, the same.
        done = [ident for ref, ident in committed if ref == attempt.member]
        if done:
            assert attempt.booked == done[0], (attempt, done)
    acknowledged = {a.booked for a in attempts} - {None}
    assert set(before.values()) <= acknowledged
    final = _check_consistent(_helper(storm_env, "report", ids))
    # Every place is taken, each by a booking some client was told about, and no other.
    assert len(final) == ROUNDS * ROUND_CAPACITY
    assert {a["id"] for a in final} == acknowledged
