"""Every dose issues or re-issues the person's certificate; corrections and merges revoke."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vaxnet.booking.models import Session
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.queries import certificate_record, revoked_ids
from vaxnet.certificates.services import certificate_issue, certificates_issue
from vaxnet.core.models import User
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.corrections import vaccination_mark_in_error

from ..booking.test_appointments import make_member
from .conftest import give_dose, insert_dose

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _certificates(person: Beneficiary) -> list[tuple[int, str, str, int]]:
    return [
        (c.version, c.kind, c.status, c.doses)
        for c in Certificate.objects.filter(beneficiary=person).order_by("version")
    ]


def test_it_issues_provisional_then_final_then_booster(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    kw: dict[str, Any] = {"session": today_session, "batch": batch, "by": vaccinator}
    give_dose(asha, 1, days_ago=300, **kw)
    assert _certificates(asha) == [(1, "provisional", "valid", 1)]

    give_dose(asha, 2, days_ago=200, **kw)
    assert _certificates(asha) == [
        (1, "provisional", "superseded", 1),
        (2, "final", "valid", 2),
    ]

    give_dose(asha, 3, kind="precaution", **kw)
    assert _certificates(asha)[-1] == (3, "booster", "valid", 3)
    # Superseded certificates stay true: none of them is on the revocation list.
    assert revoked_ids() == []


def test_the_record_follows_the_who_core_data_set(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    kw: dict[str, Any] = {"session": today_session, "batch": batch, "by": vaccinator}
    give_dose(asha, 1, days_ago=100, **kw)
    give_dose(asha, 2, **kw)
    certificate = Certificate.objects.get(beneficiary=asha, status="valid")

    record = certificate_record(certificate)

    assert record.certificate_id.startswith("URN:UVCI:01:TS:")
    assert record.kind == "final"
    assert (record.name, record.name_latin) == ("Asha", "ASHA")
    assert record.masked_id == asha.masked_id()
    assert record.reference == asha.reference
    assert record.issuer == "Ministry of Health, Testland"
    assert record.issuer_country == "TS"
    assert [(d.number, d.series, d.vaccine_code, d.lot) for d in record.doses] == [
        (1, 2, "COVISHIELD", batch.lot_number),
        (2, 2, "COVISHIELD", batch.lot_number),
    ]
    assert record.doses[0].codes["eu_mp"] == "Covishield"
    assert record.doses[1].facility == today_session.facility.names["en"]


def test_a_dose_entered_in_error_revokes_and_reissues(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User, manager: User
) -> None:
    kw: dict[str, Any] = {"session": today_session, "batch": batch, "by": vaccinator}
    give_dose(asha, 1, days_ago=100, **kw)
    second = give_dose(asha, 2, **kw)
    wrong = Certificate.objects.get(beneficiary=asha, status="valid")

    vaccination_mark_in_error(
        by=manager, vaccination=second, reason="Recorded for the wrong person"
    )

    wrong.refresh_from_db()
    assert (wrong.status, wrong.revoked_for) == ("revoked", "dose_in_error")
    assert revoked_ids() == [wrong.uvci]
    assert _certificates(asha)[-1] == (3, "provisional", "valid", 1)


def test_the_last_dose_in_error_leaves_no_certificate(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User, manager: User
) -> None:
    only = give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)

    vaccination_mark_in_error(by=manager, vaccination=only, reason="Not given after all")

    assert _certificates(asha) == [(1, "provisional", "revoked", 1)]


@pytest.mark.django_db(transaction=True)
def test_racing_issuances_leave_exactly_one_valid_certificate(
    asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def issue() -> None:
        try:
            barrier.wait()
            certificate_issue(beneficiary_id=asha.pk, target="covid19")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Certificate.objects.filter(beneficiary=asha, status="valid").count() == 1
    assert sorted(c.version for c in Certificate.objects.filter(beneficiary=asha)) == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_a_batch_issues_everyones_certificate_in_a_fixed_number_of_statements(
    citizen: Account, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    people = [make_member(citizen, n, name=f"Person {n}") for n in range(2, 6)]
    kw: dict[str, Any] = {"session": today_session, "batch": batch, "by": vaccinator}
    for person in people:
        give_dose(person, 1, days_ago=100, **kw)
    vaccinations = [
        insert_dose(person, 2, session=today_session, batch=batch, by=vaccinator)
        for person in people
    ]

    with CaptureQueriesContext(connection) as one:
        first = certificates_issue(pairs=[(vaccinations[0].beneficiary_id, "covid19")])
    with CaptureQueriesContext(connection) as three:
        rest = certificates_issue(pairs=[(v.beneficiary_id, v.target) for v in vaccinations[1:]])

    assert len(first) + len(rest) == len(people)
    # Lock, merged duplicates, doses, ended, supersede, versions, schedules, prefixes, insert:
    # as many statements for three people as for one.
    assert len(three.captured_queries) == len(one.captured_queries)
    for person in people:
        assert _certificates(person) == [
            (1, "provisional", "superseded", 1),
            (2, "final", "valid", 2),
        ]


def test_a_batch_skips_people_without_doses_and_merged_registrations(
    asha: Beneficiary, citizen: Account, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)
    nobody = make_member(citizen, 7, name="No Dose")

    issued = certificates_issue(pairs=[(asha.pk, "covid19"), (nobody.pk, "covid19")])

    assert [c.beneficiary_id for c in issued] == [asha.pk]
    assert _certificates(nobody) == []
