"""Merging a person registered twice: the duplicate's doses count for the kept one, reversibly."""

import pytest

from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.queries import dose_history
from vaxnet.booking.services import appointment_cancel
from vaxnet.core.models import AuditEvent, User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.corrections import vaccination_mark_in_error
from vaxnet.vaccination.merges import Clash, beneficiary_merge, beneficiary_merge_undo

from ..stock.ledger_helpers import refusal_code
from .day import book, check_in, record
from .test_corrections import person, vaccinated

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def twin(country: object) -> Beneficiary:
    """Asha registered a second time, with another ID document."""
    return person(country, 2)


def test_it_merges_and_the_kept_history_has_the_duplicates_doses(
    asha: Beneficiary,
    twin: Beneficiary,
    today_session: Session,
    verifier: User,
    vaccinator: User,
    district_admin: User,
    batch: Batch,
) -> None:
    vaccinated(twin, 2, today_session, verifier, vaccinator, batch)
    outcome = beneficiary_merge(by=district_admin, kept=asha, merged=twin, reason="same person")

    twin.refresh_from_db()
    assert twin.merged_into == asha
    assert outcome.clashes == []
    assert len(dose_history(asha)) == 1
    assert AuditEvent.objects.filter(action="beneficiary.merge").count() == 1
    # Asha's next dose is now her second, not due today.
    assert refusal_code(book, asha, today_session)


def test_it_flags_the_same_dose_recorded_for_both(
    asha: Beneficiary,
    twin: Beneficiary,
    today_session: Session,
    verifier: User,
    vaccinator: User,
    district_admin: User,
    batch: Batch,
) -> None:
    vaccinated(asha, 1, today_session, verifier, vaccinator, batch)
    vaccinated(twin, 2, today_session, verifier, vaccinator, batch)
    outcome = beneficiary_merge(by=district_admin, kept=asha, merged=twin, reason="same")
    assert outcome.clashes == [Clash("covid19", 1)]
    assert len(dose_history(asha)) == 2


def test_it_refuses_same_already_merged_and_live_appointments(
    asha: Beneficiary,
    twin: Beneficiary,
    country: object,
    today_session: Session,
    district_admin: User,
) -> None:
    third = person(country, 3)
    assert refusal_code(
        beneficiary_merge, by=district_admin, kept=asha, merged=asha, reason="x"
    ) == ("same_person")
    assert refusal_code(
        beneficiary_merge, by=district_admin, kept=asha, merged=twin, reason=""
    ) == ("reason_required")
    appointment = book(twin, today_session)
    assert refusal_code(
        beneficiary_merge, by=district_admin, kept=asha, merged=twin, reason="x"
    ) == ("duplicate_has_appointments")
    appointment_cancel(appointment=appointment)
    beneficiary_merge(by=district_admin, kept=asha, merged=twin, reason="x")
    twin.refresh_from_db()
    assert refusal_code(
        beneficiary_merge, by=district_admin, kept=third, merged=twin, reason="x"
    ) == ("already_merged")
    assert refusal_code(
        beneficiary_merge, by=district_admin, kept=twin, merged=third, reason="x"
    ) == ("already_merged")
    assert refusal_code(
        beneficiary_merge, by=district_admin, kept=third, merged=asha, reason="x"
    ) == ("duplicate_has_duplicates")


def test_undo_gives_back_exactly_what_was_there(
    asha: Beneficiary,
    twin: Beneficiary,
    today_session: Session,
    verifier: User,
    vaccinator: User,
    district_admin: User,
    batch: Batch,
) -> None:
    vaccinated(twin, 2, today_session, verifier, vaccinator, batch)
    merge = beneficiary_merge(by=district_admin, kept=asha, merged=twin, reason="x").merge
    undone = beneficiary_merge_undo(by=district_admin, merge=merge, reason="not the same")

    twin.refresh_from_db()
    assert twin.merged_into is None
    assert (undone.undone_by, undone.undo_reason) == (district_admin, "not the same")
    assert dose_history(asha) == [] and len(dose_history(twin)) == 1
    assert refusal_code(beneficiary_merge_undo, by=district_admin, merge=merge, reason="x") == (
        "merge_undone"
    )
    # A merge undone can be made again.
    beneficiary_merge(by=district_admin, kept=asha, merged=twin, reason="after all")


def test_undo_is_refused_once_the_kept_person_had_a_dose_since(
    asha: Beneficiary,
    twin: Beneficiary,
    booked: Appointment,
    verifier: User,
    vaccinator: User,
    manager: User,
    district_admin: User,
    batch: Batch,
) -> None:
    merge = beneficiary_merge(by=district_admin, kept=asha, merged=twin, reason="x").merge
    check_in(booked, verifier, 1)
    given = record(booked, vaccinator, batch)
    assert refusal_code(beneficiary_merge_undo, by=district_admin, merge=merge, reason="x") == (
        "doses_since_merge"
    )
    vaccination_mark_in_error(by=manager, vaccination=given, reason="merge was wrong")
    beneficiary_merge_undo(by=district_admin, merge=merge, reason="x")
