"""Offline batches: each record recorded, a duplicate or a conflict; replays change nothing."""

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tests.api_v1.helpers import call
from tests.stock.ledger_helpers import make_batch, signed_in, stocked
from vaxnet.booking.models import Appointment, Session, SessionDose
from vaxnet.core.models import AuditEvent, User
from vaxnet.notifications.models import Message
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch, SessionStock, Store
from vaxnet.stock.services import batch_recall
from vaxnet.vaccination.models import SyncItem, Vaccination
from vaxnet.vaccination.sync import Item, Outcome, vaccinations_sync

from ..booking.test_appointments import make_member
from .day import NOW, at, book, issue, make_day_session

pytestmark = pytest.mark.usefixtures("clock")


def item(appointment: Appointment, batch: Batch, **kwargs: Any) -> Item:
    values: dict[str, Any] = {
        "client_id": uuid.uuid4(),
        "device_time": at(9, 30),
        "session": appointment.session.public_id,
        "appointment": appointment.public_id,
        "batch": batch.public_id,
        "site": "left_arm",
    }
    values.update(kwargs)
    return Item(**values)


def body(*items: Item) -> dict[str, Any]:
    return {
        "items": [
            {
                "client_id": str(i.client_id),
                "device_time": i.device_time.isoformat(),
                "session": i.session,
                "appointment": i.appointment or None,
                "beneficiary": i.beneficiary or None,
                "batch": i.batch,
                "site": i.site,
                "outcome": i.outcome,
                "reason": i.reason,
            }
            for i in items
        ]
    }


@pytest.mark.django_db
def test_it_records_offline_doses_with_everything_vaccination_record_does(
    booked: Appointment, vaccinator: User, batch: Batch
) -> None:
    (outcome,) = vaccinations_sync(by=vaccinator, items=[item(booked, batch)])

    assert (outcome.result, outcome.dose_number, outcome.code) == ("recorded", 1, "")
    record = Vaccination.objects.get(public_id=outcome.record)
    assert (record.source, record.given_at, record.client_id) == (
        "offline",
        at(9, 30),
        outcome.client_id,
    )
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.VACCINATED
    assert SessionStock.objects.get(session=booked.session, batch=batch).doses_given == 1
    assert AuditEvent.objects.filter(action="vaccination.record").count() == 1
    assert Message.objects.filter(template="dose_recorded").count() == 1
    assert SyncItem.objects.get(client_id=outcome.client_id).record == record.public_id


@pytest.mark.django_db
def test_a_replayed_batch_answers_the_same_and_changes_nothing(
    booked: Appointment, vaccinator: User, batch: Batch, today_session: Session
) -> None:
    items = [item(booked, batch), item(booked, batch, session="NOSUCHSESSION")]
    first = vaccinations_sync(by=vaccinator, items=items)
    again = vaccinations_sync(by=vaccinator, items=items)

    assert first == again
    assert [o.result for o in first] == ["recorded", "conflict"]
    assert first[1].code == "not_found"
    assert Vaccination.objects.count() == 1
    assert SessionStock.objects.get(session=today_session, batch=batch).doses_given == 1


@pytest.mark.django_db
def test_one_conflict_leaves_the_others_recorded_and_another_device_gives_a_duplicate(
    booked: Appointment,
    vaccinator: User,
    manager: User,
    batch: Batch,
    today_session: Session,
    phc_store: Store,
) -> None:
    other = book(make_member(booked.beneficiary.account, 2, name="Bina"), today_session)  # type: ignore[arg-type]
    recalled = stocked(phc_store, make_batch("LOT-R"), 10)
    issue(today_session, recalled, 1)
    batch_recall(by=None, batch=recalled, reason="quality")
    results = vaccinations_sync(
        by=vaccinator,
        items=[item(booked, batch), item(other, recalled), item(other, batch, site="elbow")],
    )
    duplicate = vaccinations_sync(by=manager, items=[item(booked, batch, device_time=at(9, 45))])

    assert [(r.result, r.code) for r in results] == [
        ("recorded", ""),
        ("conflict", "batch_recalled"),
        ("conflict", "site_unknown"),
    ]
    assert (duplicate[0].result, duplicate[0].record) == ("duplicate", results[0].record)
    assert Vaccination.objects.count() == 1


@pytest.mark.django_db
def test_a_registered_person_without_appointment_gets_an_onsite_one_even_when_full(
    asha: Beneficiary, vaccinator: User, batch: Batch, hill_phc: Any
) -> None:
    full = make_day_session(hill_phc)
    SessionDose.objects.filter(session=full).update(capacity_onsite=0)  # a full session
    issue(full, batch, 1)
    walk_in = Item(
        client_id=uuid.uuid4(),
        device_time=at(10),
        session=full.public_id,
        beneficiary=asha.reference,
        batch=batch.public_id,
        site="right_arm",
    )
    (outcome,) = vaccinations_sync(by=vaccinator, items=[walk_in])

    assert (outcome.result, outcome.code) == ("recorded", "onsite_over_capacity")
    appointment = Appointment.objects.get(beneficiary=asha, session=full)
    assert (appointment.channel, appointment.status) == ("onsite", "vaccinated")


@pytest.mark.django_db
def test_the_same_dose_twice_in_one_batch_is_recorded_once(
    booked: Appointment, vaccinator: User, batch: Batch
) -> None:
    twice = Item(
        client_id=uuid.uuid4(),
        device_time=at(9, 40),
        session=booked.session.public_id,
        beneficiary=booked.beneficiary.reference,
        batch=batch.public_id,
        site="left_arm",
    )
    first, second = vaccinations_sync(by=vaccinator, items=[item(booked, batch), twice])

    assert (first.result, second.result) == ("recorded", "duplicate")
    assert second.record == first.record
    assert Message.objects.filter(template="dose_recorded").count() == 1
    assert SessionStock.objects.get(session=booked.session, batch=batch).doses_given == 1


@pytest.mark.django_db
def test_a_merged_duplicate_is_refused_and_its_dose_counts_for_the_kept_person(
    booked: Appointment, vaccinator: User, batch: Batch, today_session: Session
) -> None:
    kept = make_member(booked.beneficiary.account, 2, name="Asha again")  # type: ignore[arg-type]
    kept_booking = book(kept, today_session)
    (first,) = vaccinations_sync(by=vaccinator, items=[item(booked, batch)])
    Beneficiary.objects.filter(pk=booked.beneficiary_id).update(merged_into=kept)
    other = book(make_member(booked.beneficiary.account, 3), today_session)  # type: ignore[arg-type]
    Beneficiary.objects.filter(pk=other.beneficiary_id).update(merged_into=kept)

    merged, again = vaccinations_sync(
        by=vaccinator, items=[item(other, batch), item(kept_booking, batch)]
    )

    assert (merged.result, merged.code) == ("conflict", "beneficiary_merged")
    assert (again.result, again.record) == ("duplicate", first.record)


@pytest.mark.django_db
def test_out_of_scope_sessions_are_conflicts_not_found(
    booked: Appointment, outsider: User, batch: Batch
) -> None:
    (outcome,) = vaccinations_sync(by=outsider, items=[item(booked, batch)])

    assert (outcome.result, outcome.code) == ("conflict", "not_found")
    assert not Vaccination.objects.exists()


@pytest.mark.django_db
def test_the_api_validates_the_shape_and_answers_per_item(
    booked: Appointment, vaccinator: User, batch: Batch
) -> None:
    client = signed_in(vaccinator)
    good = call(client, "post", "sync/vaccinations", body(item(booked, batch)))
    naive = body(item(booked, batch))
    naive["items"][0]["device_time"] = "2026-03-02T09:30:00"
    refused = call(client, "post", "sync/vaccinations", naive)
    too_many = call(client, "post", "sync/vaccinations", {"items": [naive["items"][0]] * 501})
    missing = call(client, "post", "sync/vaccinations", {"items": [{"session": "x"}]})
    nobody = body(item(booked, batch))
    nobody["items"][0]["appointment"] = None
    no_one = call(client, "post", "sync/vaccinations", nobody)

    assert good.status_code == 200, good.json()
    assert good.json()["results"][0]["result"] == "recorded"
    assert [r.status_code for r in (refused, too_many, missing, no_one)] == [422] * 4
    assert json.loads(refused.content)["error"]["code"] == "invalid_input"


def _race(jobs: list[Callable[[], object]]) -> list[object]:
    results: list[object] = []
    start = threading.Barrier(len(jobs))

    def client(job: Callable[[], object]) -> None:
        try:
            start.wait()
            results.append(job())
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_devices_syncing_one_dose_at_once_give_one_recorded_one_duplicate(
    booked: Appointment, vaccinator: User, manager: User, batch: Batch
) -> None:
    person = booked.beneficiary
    by_appointment = item(booked, batch)
    by_reference = Item(
        client_id=uuid.uuid4(),
        device_time=at(9, 31),
        session=booked.session.public_id,
        beneficiary=person.reference,
        batch=batch.public_id,
        site="left_arm",
    )
    results = _race(
        [
            lambda: vaccinations_sync(by=vaccinator, items=[by_appointment])[0],
            lambda: vaccinations_sync(by=manager, items=[by_reference])[0],
            lambda: vaccinations_sync(by=vaccinator, items=[by_appointment])[0],
        ]
    )

    outcomes = [r for r in results if isinstance(r, Outcome)]
    assert len(outcomes) == 3
    assert sorted({(o.client_id, o.result) for o in outcomes}) == sorted(
        {(by_appointment.client_id, "recorded"), (by_reference.client_id, "duplicate")}
    ) or sorted({(o.client_id, o.result) for o in outcomes}) == sorted(
        {(by_appointment.client_id, "duplicate"), (by_reference.client_id, "recorded")}
    )
    assert Vaccination.objects.filter(beneficiary=person).count() == 1
    assert SessionStock.objects.get(session=booked.session, batch=batch).doses_given == 1
    assert SyncItem.objects.count() == 2
    assert NOW.date() == booked.session.date


@pytest.mark.django_db
def test_a_dose_given_offline_before_the_close_is_recorded_on_the_no_show(
    booked: Appointment, vaccinator: User, manager: User, batch: Batch, today_session: Session
) -> None:
    """The close marked the person no-show while the device was offline: the dose still counts."""
    from vaxnet.vaccination.close import session_close

    session_close(by=manager, session=today_session, unopened_vials={})
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.NO_SHOW

    (outcome,) = vaccinations_sync(by=vaccinator, items=[item(booked, batch)])

    assert (outcome.result, outcome.dose_number) == ("recorded", 1)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.VACCINATED
    account = SessionStock.objects.get(session=today_session, batch=batch)
    assert account.closed_at is not None and account.doses_given == 1
