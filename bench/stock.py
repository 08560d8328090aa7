"""The stock ledger on PostgreSQL: moves per second through the services, and a big store's balance.

Builds its own data in a throwaway PostgreSQL database (the TEST pack, its stores, one batch
received in bulk at Hill Town's store), then:

(a) moves: each a dose given from the store's stock (`services.stock_consume`: the balance's
    conditional UPDATE, the ledger row, the audit event, in one transaction), as fast as one
    client can, against a loop of raw SQL making the same writes in one transaction each.
    The two alternate in rounds and the ratio is taken from their totals (the figure: the
    machines are shared and noisy);
(b) a store with 1,000,000 moves in its history: its balance per batch as the pages and the
    API read it (`queries.balances`), the median of many reads, against the ledger's
    own sum over those moves (what the kept balances spare every read).

Environment: BENCH_SECONDS (per round, default 2), BENCH_ROUNDS (default 5), BENCH_POSTGRES
(server URL without database), BENCH_HISTORY (moves in the big store's history, default
1,000,000).
"""

import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
HISTORY = int(os.environ.get("BENCH_HISTORY", "1000000"))
STOCK = 10_000_000
READS = 200


def _environment(database: str) -> dict[str, str]:
    env = {
        "VAXNET_COUNTRY": "TEST",
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "SECRET_KEY": secrets.token_hex(32),
        "VAXNET_ID_HASH_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "VAXNET_PUBLIC_URL": "https://bench.invalid",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "vaxnet.settings",
    }
    for name in ("VAXNET_DEV", "REDIS_URL", "CELERY_BROKER_URL", "DATABASE_CONN_MAX_AGE"):
        os.environ.pop(name, None)
    return env


def _rate(work: Callable[[], None], seconds: float) -> tuple[int, float]:
    """Run work again and again for about `seconds`; return how often and how long it took."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        done += 1
    return done, time.perf_counter() - started


def _build() -> tuple[Any, Any]:
    from django.core.management import call_command
    from django.utils import timezone

    from vaxnet.countries.models import Country
    from vaxnet.facilities.models import Facility
    from vaxnet.stock.services import batch_register, stock_receive
    from vaxnet.stock.stores import store_for_facility, stores_set_up
    from vaxnet.vaccines.models import Vaccine

    call_command("migrate", verbosity=0)
    call_command("load_country", "TEST", verbosity=0)
    country = Country.objects.get(code="TEST")
    stores_set_up(country=country, by=None)
    store = store_for_facility(facility=Facility.objects.get(code="TS-F1"), by=None)
    vaccine = Vaccine.objects.get(country=country, code="COVISHIELD")
    batch = batch_register(
        by=None,
        vaccine=vaccine,
        lot_number="BENCH-1",
        manufacturer="Bench",
        expires_on=timezone.localdate() + timedelta(days=365),
        doses_per_vial=10,
    )
    stock_receive(by=None, store=store, batch=batch, doses=STOCK, supplier="Bench")
    return store, batch


def _raw_consume(store_id: int, batch_id: int) -> Callable[[], None]:
    """Return one dose given in raw SQL: the same three writes as the service, one transaction."""
    from django.db import connection, transaction

    def work() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE stock_balance SET doses = doses - 1 "
                "WHERE store_id = %s AND batch_id = %s AND doses - 1 >= 0",
                [store_id, batch_id],
            )
            if cursor.rowcount != 1:
                raise RuntimeError("the bench's stock ran out")
            cursor.execute(
                "INSERT INTO stock_stockmove (store_id, batch_id, kind, reason, doses, vials, at, "
                "note) VALUES (%s, %s, 'consumption', '', -1, 0, now(), '') RETURNING id",
                [store_id, batch_id],
            )
            (move_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO core_auditevent (at, actor_label, action, object_type, object_id, "
                "ip, data) VALUES (now(), 'system', 'stock.consume', 'stock.stockmove', %s, "
                "NULL, %s)",
                [str(move_id), '{"doses": 1}'],
            )

    return work


def _history(store_id: int, batch_id: int, moves: int) -> None:
    """Give the store `moves` more moves of the batch, in and out in turn (so many pairs
    that the balance stays as it was)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO stock_stockmove "
            "(store_id, batch_id, kind, reason, doses, vials, at, note) SELECT %s, %s, "
            "CASE WHEN n %% 2 = 0 THEN 'receipt' ELSE 'consumption' END, '', "
            "CASE WHEN n %% 2 = 0 THEN 10 ELSE -10 END, 0, "
            "now() - make_interval(secs => %s - n), '' FROM generate_series(1, %s) AS n",
            [store_id, batch_id, moves, moves],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stock_stockmove")


def _timed(read: Callable[[], object], times: int) -> float:
    """Return the median milliseconds of a read over `times` runs."""
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        read()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def main() -> int:
    import psycopg

    try:
        psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3).close()
    except psycopg.Error:
        print(f"WARNING: PostgreSQL at {POSTGRES} is unreachable; bench/stock.py was skipped.")
        return 1 if os.environ.get("CI") == "true" else 0
    database = f"vaxnet_bench_stock_{os.getpid()}"
    os.environ.update(_environment(database))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from bench.booking import _database

    with _database(database):
        started = time.monotonic()
        store, batch = _build()
        from vaxnet.stock import queries
        from vaxnet.stock.models import Balance, StockMove
        from vaxnet.stock.services import stock_consume

        print(f"data built in {time.monotonic() - started:.0f} s", flush=True)

        def service() -> None:
            stock_consume(by=None, store=store, batch=batch, doses=1)

        raw = _raw_consume(store.pk, batch.pk)
        for work in (service, raw):
            _rate(work, 0.5)  # warm up
        mine = ceiling = (0, 0.0)
        for _round in range(ROUNDS):
            done, spent = _rate(service, SECONDS)
            mine = (mine[0] + done, mine[1] + spent)
            done, spent = _rate(raw, SECONDS)
            ceiling = (ceiling[0] + done, ceiling[1] + spent)
        service_rate, raw_rate = mine[0] / mine[1], ceiling[0] / ceiling[1]
        ratio = service_rate / raw_rate
        print(
            f"(a) moves: stock_consume {service_rate:.0f}/s ({1000 / service_rate:.2f} ms each), "
            f"raw SQL {raw_rate:.0f}/s ({1000 / raw_rate:.2f} ms each); "
            f"ratio {ratio:.2f} (target 0.5); {ROUNDS} alternating rounds of {SECONDS:.0f} s"
        )

        started = time.monotonic()
        _history(store.pk, batch.pk, HISTORY - HISTORY % 2)
        moves = StockMove.objects.filter(store=store).count()
        print(f"history of {moves} moves written in {time.monotonic() - started:.0f} s")
        balances = _timed(lambda: list(queries.balances(store)), READS)
        ledger = _timed(lambda: queries.ledger_balance(store, batch), 5)
        kept = Balance.objects.get(store=store, batch=batch).doses
        agrees = kept == queries.ledger_balance(store, batch)
        print(
            f"(b) balance of a store with {moves} moves: {balances:.2f} ms (median of {READS}; "
            f"target under 20 ms); the ledger's sum over them {ledger:.0f} ms; "
            f"kept balance {'equals' if agrees else 'DIFFERS FROM'} the ledger's"
        )
    # Unmet targets are figures to read; a kept balance that disagrees with the ledger is a bug.
    print(f"figures: moves ratio {ratio:.2f} (target 0.5), balance {balances:.2f} ms (target 20)")
    return 0 if agrees else 1


if __name__ == "__main__":
    sys.exit(main())
