"""Hand-written reads and inserts keep the ORM's conversions, defaults and hooks."""

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.signals import pre_save

from tests.api.factories import NOW, member, plan
from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import AuditEvent
from vaxnet.core.rows import Table, columns, insert_returning, model_from_row, models_from_row
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _fields(instance: Any) -> dict[str, object]:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def _session_row(session: Session) -> tuple[list[Table], Any]:
    tables: list[Table] = [(Session, "s"), (Facility, "f"), (Country, "c")]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(tables)} FROM {quote(Session._meta.db_table)} s "  # noqa: S608
            f"JOIN {quote(Facility._meta.db_table)} f ON f.id = s.facility_id "
            f"JOIN {quote(Country._meta.db_table)} c ON c.id = f.country_id WHERE s.id = %s",
            [session.pk],
        )
        return tables, cursor.fetchone()


def test_it_converts_dates_booleans_and_json_as_the_orm_does(hill_phc: Facility) -> None:
    session = plan(hill_phc)
    tables, row = _session_row(session)

    # Twice: the second time from what the first worked out.
    for _time in range(2):
        made, facility, country = models_from_row(tables, row)

        assert _fields(made) == _fields(Session.objects.get(pk=session.pk))
        assert _fields(facility) == _fields(Facility.objects.get(pk=hill_phc.pk))
        assert _fields(country) == _fields(Country.objects.get(pk=hill_phc.country_id))
        assert type(made.date) is date  # type: ignore[attr-defined]
        assert isinstance(made.release_at, datetime)  # type: ignore[attr-defined]
        assert made.release_at.tzinfo is not None  # type: ignore[attr-defined]
        assert facility.active is True  # type: ignore[attr-defined]
        assert isinstance(country.config, dict)  # type: ignore[attr-defined]
        assert not made._state.adding
        assert made._state.db == "default"


def test_it_keeps_nulls_and_refuses_a_row_of_another_shape(hill_phc: Facility) -> None:
    session = plan(hill_phc)
    _tables, row = _session_row(session)
    width = len(Session._meta.concrete_fields)
    values = list(row[:width])
    values[[f.attname for f in Session._meta.concrete_fields].index("max_age_years")] = None

    made = model_from_row(Session, values, "s")

    assert made.max_age_years is None
    with pytest.raises(ValueError, match="columns"):
        model_from_row(Session, values[:-1], "s")


def test_it_inserts_with_defaults_and_auto_now_as_save_does(country: Country) -> None:
    event = AuditEvent(actor_label="system", action="test.insert", object_type="x", object_id="1")

    pk = insert_returning(event)

    assert pk is not None
    assert event.pk == pk
    assert not event._state.adding
    assert event._state.db == "default"
    assert event.at == NOW  # auto_now_add, by the field's pre_save
    assert event.data == {}  # the field's default
    assert _fields(event) == _fields(AuditEvent.objects.get(pk=pk))


def test_it_inserts_an_appointment_as_the_orm_would(country: Country, hill_phc: Facility) -> None:
    session = plan(hill_phc)
    slot = session.slots.all()[0]
    mine, theirs = member(country, 1), member(country, 2)

    def appointment(beneficiary: Any) -> Appointment:
        return Appointment(
            beneficiary=beneficiary,
            session=session,
            slot=slot,
            dose_number=1,
            channel=Appointment.Channel.ONLINE,
            security_code="0042",
        )

    inserted = appointment(mine)
    insert_returning(inserted)
    saved = appointment(theirs)
    saved.save(force_insert=True)

    stored = Appointment.objects.get(pk=inserted.pk)
    assert _fields(inserted) == _fields(stored)
    assert inserted.public_id and len(inserted.public_id) == len(saved.public_id)
    assert (inserted.status, inserted.created_at, inserted.updated_at) == (
        saved.status,
        saved.created_at,
        saved.updated_at,
    )
    assert inserted.created_at == NOW
    different = {"id", "public_id", "beneficiary_id"}
    assert {k: v for k, v in _fields(inserted).items() if k not in different} == {
        k: v for k, v in _fields(saved).items() if k not in different
    }


def _booker(country: Country, facility: Facility) -> Callable[[], Appointment]:
    """Return a maker of the same new appointment again and again (for one beneficiary)."""
    session = plan(facility)
    slot = session.slots.all()[0]
    beneficiary = member(country, 1)

    def appointment() -> Appointment:
        return Appointment(
            beneficiary=beneficiary,
            session=session,
            slot=slot,
            dose_number=1,
            channel=Appointment.Channel.ONLINE,
            security_code="0042",
        )

    return appointment


def test_it_raises_the_databases_refusal_and_leaves_the_outer_transaction_usable(
    country: Country, hill_phc: Facility
) -> None:
    appointment = _booker(country, hill_phc)
    beneficiary = appointment().beneficiary

    insert_returning(appointment())
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_returning(appointment())  # one live appointment per beneficiary and dose

    assert Appointment.objects.filter(beneficiary=beneficiary).count() == 1


def test_it_ignores_a_conflict_when_asked_without_breaking_the_transaction(
    country: Country, hill_phc: Facility
) -> None:
    appointment = _booker(country, hill_phc)
    beneficiary = appointment().beneficiary

    first, twin = appointment(), appointment()
    with transaction.atomic():  # no savepoint inside: the statement itself does not fail
        kept = insert_returning(first, ignore_conflicts=True)
        ignored = insert_returning(twin, ignore_conflicts=True)
        still_usable = Appointment.objects.filter(beneficiary=beneficiary).count()

    assert kept == first.pk and not first._state.adding
    assert ignored is None and twin._state.adding and twin.pk is None
    assert still_usable == 1


def test_it_lets_the_orm_save_when_a_receiver_listens(country: Country) -> None:
    heard = []

    def receiver(sender: Any, instance: AuditEvent, **kwargs: Any) -> None:
        heard.append(instance.action)

    pre_save.connect(receiver, sender=AuditEvent)
    try:
        event = AuditEvent(
            actor_label="system", action="test.heard", object_type="x", object_id="1"
        )
        insert_returning(event)
    finally:
        pre_save.disconnect(receiver, sender=AuditEvent)

    assert heard == ["test.heard"]
    assert AuditEvent.objects.get(pk=event.pk).action == "test.heard"


def test_it_lets_the_orm_save_an_expression(country: Country) -> None:
    event = AuditEvent(
        actor_label="system", action="test.value", object_type="x", object_id=Value("7")
    )

    insert_returning(event)

    assert AuditEvent.objects.get(pk=event.pk).object_id == "7"
