"""Doses recorded in racing threads while folds race each other: nothing counted twice or lost."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from vaxnet.booking.models import Session
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.dashboard.models import TallyChange
from vaxnet.dashboard.services import tallies_fold, tallies_fold_all, tallies_rebuild
from vaxnet.stock.models import Batch

from ..booking.test_appointments import make_account, make_member
from ..vaccination.day import issue
from .conftest import give_dose, numbers
from .test_rebuild import snapshot

pytestmark = pytest.mark.usefixtures("clock")


def _run(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_doses_recorded_while_folds_race_are_each_counted_once(
    country: Country, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    issue(today_session, batch, 4)
    people = [make_member(make_account(country, f"+9198700000{i:02d}"), 700 + i) for i in range(8)]
    recording = threading.Event()

    def recorder(pair: int) -> Callable[[], None]:
        def work() -> None:
            for person in people[2 * pair : 2 * pair + 2]:
                for number, days_ago in ((1, 40), (2, 0)):
                    give_dose(
                        person,
                        number,
                        session=today_session,
                        batch=batch,
                        by=vaccinator,
                        days_ago=days_ago,
                    )

        return work

    def folder() -> None:
        while not recording.is_set():
            tallies_fold(limit=2)

    recorders = [recorder(pair) for pair in range(4)]

    def recorders_then_stop() -> None:
        try:
            errors = _run(recorders)
            assert errors == [], errors
        finally:
            recording.set()

    errors = _run([recorders_then_stop, folder, folder])
    assert errors == []

    tallies_fold_all()
    assert not TallyChange.objects.exists()
    shown = country
    shown.config.setdefault("population", {})["suppress_below"] = 0
    shown.save(update_fields=["config"])
    totals = numbers(shown)
    assert totals["doses"]["total"] == 16
    assert (totals["people"]["first"], totals["people"]["complete"]) == (8, 8)
    incremental = snapshot()
    tallies_rebuild()
    assert snapshot() == incremental
