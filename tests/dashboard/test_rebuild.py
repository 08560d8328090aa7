"""Incremental tallies equal rebuilt ones, after any mix of doses, corrections and merges."""

import random
from typing import Any

import pytest

from vaxnet.booking.models import Session
from vaxnet.certificates.corrections import correction_decide, correction_request
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.dashboard import services
from vaxnet.dashboard.models import PersonTally, Tally, TallyChange
from vaxnet.dashboard.services import tallies_fold, tallies_fold_all, tallies_rebuild
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.corrections import vaccination_mark_in_error
from vaxnet.vaccination.merges import beneficiary_merge, beneficiary_merge_undo
from vaxnet.vaccination.models import BeneficiaryMerge, Vaccination

from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import facility_store, make_batch, stocked
from ..vaccination.day import issue, make_day_session
from .conftest import give_dose

pytestmark = pytest.mark.usefixtures("clock")


def snapshot() -> set[tuple[Any, ...]]:
    """Return every tally that is not zero."""
    return set(
        Tally.objects.exclude(count=0).values_list(
            "metric", "day", "region_id", "vaccine", "dim", "value", "count"
        )
    )


def people_counted() -> dict[int, list[Any]]:
    return {
        pk: sorted(map(tuple, facts))
        for pk, facts in PersonTally.objects.values_list("pk", "facts")
        if facts
    }


@pytest.fixture
def sessions(
    today_session: Session, batch: Batch, river_clinic: Facility
) -> list[tuple[Session, Batch]]:
    """Today's sessions at Hill Town PHC (public) and River Town Clinic (private)."""
    issue(today_session, batch, 8)
    store = facility_store(river_clinic)
    river_batch = stocked(store, make_batch("LOT-R"), 200)
    river = make_day_session(river_clinic)
    issue(river, river_batch, 10)
    return [(today_session, batch), (river, river_batch)]


def _next_dose(person: Beneficiary) -> int:
    owners = [
        person.pk,
        *Beneficiary.objects.filter(merged_into=person).values_list("pk", flat=True),
    ]
    return (
        Vaccination.objects.filter(
            beneficiary_id__in=owners, status=Vaccination.Status.VALID
        ).count()
        + 1
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_mix_of_changes_tallies_as_a_rebuild_counts_it(
    country: Country,
    sessions: list[tuple[Session, Batch]],
    vaccinator: User,
    national_admin: User,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fold's cells added a few to a statement: the chunks of a large fold, at every fold.
    monkeypatch.setattr(services, "ADD_CHUNK", 1 + 3 * seed)
    rng = random.Random(seed)
    people = []
    for i in range(6):
        account = make_account(country, f"+91980000{seed}{i:03d}")
        person = make_member(
            account, 100 * seed + i, birth_year=rng.choice([1950, 1975, 2000, 2010])
        )
        people.append(person)
    done: list[str] = []
    for _step in range(40):
        action = rng.choice(["dose", "dose", "dose", "error", "merge", "undo", "correct", "fold"])
        try:
            if action == "dose":
                person = rng.choice([p for p in people if p.merged_into_id is None] or people)
                person.refresh_from_db()
                if person.merged_into_id is not None:
                    continue
                number = _next_dose(person)
                if number > 3:
                    continue
                session, lot = rng.choice(sessions)
                give_dose(
                    person,
                    number,
                    session=session,
                    batch=lot,
                    by=vaccinator,
                    days_ago=rng.randrange(0, 200),
                    kind="booster" if number == 3 else "primary",
                )
            elif action == "error":
                valid = list(Vaccination.objects.filter(status=Vaccination.Status.VALID))
                if not valid:
                    continue
                vaccination_mark_in_error(
                    by=national_admin, vaccination=rng.choice(valid), reason="Wrong person"
                )
            elif action == "merge":
                kept, merged = rng.sample(people, 2)
                kept.refresh_from_db()
                merged.refresh_from_db()
                beneficiary_merge(by=national_admin, kept=kept, merged=merged, reason="Twice")
            elif action == "undo":
                merges = list(BeneficiaryMerge.objects.filter(undone_at__isnull=True))
                if not merges:
                    continue
                beneficiary_merge_undo(by=national_admin, merge=rng.choice(merges), reason="No")
            elif action == "correct":
                person = rng.choice(people)
                person.refresh_from_db()
                field, value = rng.choice(
                    [("sex", rng.choice(["male", "female", "other"])), ("birth_date", "1944-06-01")]
                )
                assert person.account is not None
                request = correction_request(
                    account=person.account,
                    beneficiary=person,
                    field=field,
                    value=value,
                    reason="Typed wrong at registration",
                )
                correction_decide(by=national_admin, request=request, approve=True, note="")
            else:
                tallies_fold(limit=rng.choice([1, 3, 1000]))
        except DomainError:
            continue  # refused (already merged, nothing to correct…): nothing changed
        done.append(action)
        for person in people:
            person.refresh_from_db()
    assert {"dose", "error", "merge"} <= set(done), done  # the mix did mix

    tallies_fold_all()
    assert not TallyChange.objects.exists()
    incremental, counted = snapshot(), people_counted()
    assert incremental  # something was counted
    tallies_rebuild()
    assert snapshot() == incremental
    assert people_counted() == counted
