"""Races: real threads on real transactions, on SQLite and PostgreSQL alike.

These tests commit, so the database is emptied after each; the shared conftest loads
the TEST pack again before each.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection, transaction

from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.people.models import Account, Beneficiary, Sex
from vaxnet.people.services import beneficiary_add, otp_request, otp_verify

from .conftest import CITIZEN_PHONE, CLIENT, NEIGHBOUR_PHONE, aadhaar, sign_in, sms_code

pytestmark = pytest.mark.django_db(transaction=True)


def _race(workers: list[Callable[[], object]]) -> list[object]:
    """Run the workers at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # the outcome under test, returned rather than lost
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return results


def _codes(results: list[object]) -> list[str]:
    return sorted(r.code if isinstance(r, DomainError) else type(r).__name__ for r in results)


def _adder(account: Account, seed: int) -> Callable[[], Beneficiary]:
    return lambda: beneficiary_add(
        account=account,
        name=f"Person {seed}",
        sex=Sex.OTHER,
        birth_year=1980 + seed,
        id_type_code="aadhaar",
        id_number=aadhaar(seed),
    )


def test_it_keeps_to_the_limit_when_threads_race_to_add_the_fifth(country: Country) -> None:
    account = sign_in(country, CITIZEN_PHONE)

    results = _race([_adder(account, seed) for seed in range(8)])

    assert _codes(results) == ["Beneficiary"] * 4 + ["beneficiary_limit"] * 4
    assert Beneficiary.objects.filter(account=account).count() == 4


def test_it_registers_a_document_once_when_two_accounts_race_for_it(country: Country) -> None:
    accounts = [sign_in(country, CITIZEN_PHONE), sign_in(country, NEIGHBOUR_PHONE, client="x")]

    results = _race([_adder(account, 1) for account in accounts for _ in range(3)])

    assert _codes(results) == ["Beneficiary"] + ["id_duplicate"] * 2 + ["id_taken"] * 3
    assert Beneficiary.objects.count() == 1


def test_it_signs_in_once_when_a_code_is_sent_twice_at_once(country: Country) -> None:
    with transaction.atomic():
        challenge = otp_request(country=country, phone=CITIZEN_PHONE, client=CLIENT, language="en")
        code = sms_code(CITIZEN_PHONE)

    results = _race([lambda: otp_verify(txn=challenge.public_id, code=code, client=CLIENT)] * 6)

    assert _codes(results) == ["Account"] + ["otp_used"] * 5
    assert Account.objects.count() == 1
