"""Booking, cancelling and moving appointments: exact capacity, one live booking per dose."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from vaxnet.booking.models import Appointment, Session, SessionDose, Slot
from vaxnet.booking.planning import SlotSpec, session_cancel, session_create
from vaxnet.booking.services import appointment_book, appointment_cancel, appointment_reschedule
from vaxnet.core.checksums import verhoeff_digit
from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.notifications.models import Message
from vaxnet.people.models import Account, Beneficiary
from vaxnet.people.services import beneficiary_add
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db

# Tomorrow, local time, long after the fair window: bookings are open.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))


def _aadhaar(seed: int) -> str:
    body = str(23456789000 + seed)
    return body + verhoeff_digit(body)


def make_account(country: Country, phone: str, language: str = "en") -> Account:
    return Account.objects.create(country=country, phone=phone, language=language)


def make_member(account: Account, seed: int, birth_year: int = 1980, name: str = "") -> Beneficiary:
    return beneficiary_add(
        account=account,
        name=name or f"Member {seed}",
        sex="female",
        birth_year=birth_year,
        id_type_code="aadhaar",
        id_number=_aadhaar(seed),
    )


def make_session(
    facility: Facility,
    *,
    capacity: dict[int, tuple[int, int]] | None = None,
    slots: list[SlotSpec] | None = None,
    on: object = None,
    release_at: datetime | None = None,
    vaccine: str = "COVISHIELD",
) -> Session:
    day = on or (NOW + timedelta(days=1)).date()
    with time_machine.travel(NOW, tick=False):
        return session_create(
            by=None,
            facility=facility,
            on=day,  # type: ignore[arg-type]
            vaccine=Vaccine.objects.get(code=vaccine),
            capacity=capacity or {1: (4, 2), 2: (4, 2)},
            slots=slots or [SlotSpec(time(9), time(11), 4), SlotSpec(time(11), time(13), 4)],
            release_at=release_at or NOW - timedelta(days=1),
            min_age_years=18,
        )


@pytest.fixture
def citizen(country: Country) -> Account:
    return make_account(country, "+919812345678", language="hi")


@pytest.fixture
def asha(citizen: Account) -> Beneficiary:
    return make_member(citizen, 1, name="Asha")


@pytest.fixture
def session(hill_phc: Facility) -> Session:
    return make_session(hill_phc)


def _first_slot(session: Session) -> Slot:
    return session.slots.order_by("starts_at").first()  # type: ignore[return-value]


def _counts(session: Session) -> dict[int, int]:
    return {d.dose_number: d.booked_online for d in SessionDose.objects.filter(session=session)}


def test_it_books_a_slot_with_a_security_code_and_an_sms(
    asha: Beneficiary, session: Session
) -> None:
    slot = _first_slot(session)

    (appointment,) = appointment_book(beneficiaries=[asha], session=session, slot=slot, now=NOW)

    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.dose_number == 1
    assert len(appointment.security_code) == 4 and appointment.security_code.isdigit()
    assert _counts(session) == {1: 1, 2: 0}
    slot.refresh_from_db()
    assert slot.booked == 1
    message = Message.objects.get(template="booking_confirmed")
    assert message.recipient == "+919812345678"
    assert message.language == "hi"
    assert appointment.security_code in message.body


def test_it_books_several_members_at_once(citizen: Account, session: Session) -> None:
    members = [make_member(citizen, seed) for seed in range(1, 4)]

    booked = appointment_book(
        beneficiaries=members, session=session, slot=_first_slot(session), now=NOW
    )

    assert len(booked) == 3
    assert _counts(session) == {1: 3, 2: 0}


def test_it_books_nobody_when_not_everybody_fits(citizen: Account, hill_phc: Facility) -> None:
    session = make_session(hill_phc, capacity={1: (2, 0)}, slots=[SlotSpec(time(9), time(11), 2)])
    members = [make_member(citizen, seed) for seed in range(1, 4)]

    with pytest.raises(DomainError) as info:
        appointment_book(beneficiaries=members, session=session, slot=_first_slot(session), now=NOW)

    assert info.value.code == "dose_full"
    assert _counts(session) == {1: 0}
    assert not Appointment.objects.exists()
    assert not Message.objects.filter(template="booking_confirmed").exists()


def test_it_refuses_a_full_slot_even_with_places_left_in_the_session(
    citizen: Account, session: Session
) -> None:
    members = [make_member(citizen, seed) for seed in range(1, 5)]
    slot = _first_slot(session)
    appointment_book(beneficiaries=members[:4], session=session, slot=slot, now=NOW)
    other = make_member(make_account(session.facility.country, "+919800000001"), 9)

    with pytest.raises(DomainError) as info:
        appointment_book(beneficiaries=[other], session=session, slot=slot, now=NOW)

    assert info.value.code in {"slot_full", "dose_full"}


def test_it_allows_one_live_appointment_per_dose(
    asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    appointment_book(beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW)
    elsewhere = make_session(sea_hospital)

    with pytest.raises(DomainError) as info:
        appointment_book(
            beneficiaries=[asha], session=elsewhere, slot=_first_slot(elsewhere), now=NOW
        )

    assert info.value.code == "already_booked"
    assert _counts(elsewhere) == {1: 0, 2: 0}


def test_it_refuses_before_the_session_opens(asha: Beneficiary, hill_phc: Facility) -> None:
    session = make_session(hill_phc, release_at=NOW + timedelta(hours=2))

    with pytest.raises(DomainError, match="not_released"):
        appointment_book(beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW)


def test_it_keeps_the_fair_window_for_the_draw(asha: Beneficiary, hill_phc: Facility) -> None:
    session = make_session(hill_phc, release_at=NOW - timedelta(minutes=5))

    with pytest.raises(DomainError, match="fair_window_open"):
        appointment_book(beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW)


def test_it_closes_same_day_booking_at_the_cut_off_hour(
    asha: Beneficiary, hill_phc: Facility
) -> None:
    today = NOW.date()
    session = make_session(hill_phc, on=today)
    late = timezone.make_aware(datetime.combine(today, time(15, 0)))

    with pytest.raises(DomainError, match="same_day_closed"):
        appointment_book(beneficiaries=[asha], session=session, slot=_first_slot(session), now=late)
    (appointment,) = appointment_book(
        beneficiaries=[asha],
        session=session,
        slot=_first_slot(session),
        now=late - timedelta(minutes=1),
    )
    assert appointment.status == Appointment.Status.BOOKED


def test_it_refuses_past_and_cancelled_sessions(asha: Beneficiary, session: Session) -> None:
    with pytest.raises(DomainError, match="session_over"):
        appointment_book(
            beneficiaries=[asha],
            session=session,
            slot=_first_slot(session),
            now=NOW + timedelta(days=2),
        )
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    session.refresh_from_db()
    with pytest.raises(DomainError, match="session_closed"):
        appointment_book(beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW)


def test_it_refuses_people_the_vaccine_is_not_for(citizen: Account, session: Session) -> None:
    child = make_member(citizen, 5, birth_year=2015)

    with pytest.raises(DomainError) as info:
        appointment_book(beneficiaries=[child], session=session, slot=_first_slot(session), now=NOW)

    assert info.value.code == "too_young"


def test_it_refuses_a_dose_the_session_does_not_offer(
    asha: Beneficiary, hill_phc: Facility
) -> None:
    second_only = make_session(hill_phc, capacity={2: (8, 0)})

    with pytest.raises(DomainError, match="dose_not_offered"):
        appointment_book(
            beneficiaries=[asha], session=second_only, slot=_first_slot(second_only), now=NOW
        )


def test_it_refuses_a_slot_of_another_session(
    asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    other = make_session(sea_hospital)

    with pytest.raises(DomainError, match="slot_unknown"):
        appointment_book(beneficiaries=[asha], session=session, slot=_first_slot(other), now=NOW)


def test_it_refuses_members_of_different_accounts_together(
    asha: Beneficiary, session: Session
) -> None:
    stranger = make_member(make_account(session.facility.country, "+919800000002"), 7)

    with pytest.raises(DomainError, match="beneficiaries_mixed"):
        appointment_book(
            beneficiaries=[asha, stranger], session=session, slot=_first_slot(session), now=NOW
        )


def test_it_cancels_and_gives_the_place_back(asha: Beneficiary, session: Session) -> None:
    slot = _first_slot(session)
    (appointment,) = appointment_book(beneficiaries=[asha], session=session, slot=slot, now=NOW)

    appointment_cancel(appointment=appointment)

    appointment.refresh_from_db()
    slot.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert _counts(session) == {1: 0, 2: 0}
    assert slot.booked == 0
    assert Message.objects.filter(template="booking_cancelled").count() == 1
    with pytest.raises(DomainError, match="not_cancellable"):
        appointment_cancel(appointment=appointment)
    assert _counts(session) == {1: 0, 2: 0}


def test_it_lets_a_cancelled_dose_be_booked_again(asha: Beneficiary, session: Session) -> None:
    (first,) = appointment_book(
        beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW
    )
    appointment_cancel(appointment=first)

    (again,) = appointment_book(
        beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW
    )

    assert again.pk != first.pk


def test_it_moves_an_appointment_to_another_session(
    asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    (appointment,) = appointment_book(
        beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW
    )
    other = make_session(sea_hospital)

    moved = appointment_reschedule(
        appointment=appointment, session=other, slot=_first_slot(other), now=NOW
    )

    assert moved.session == other
    assert _counts(session) == {1: 0, 2: 0}
    assert _counts(other) == {1: 1, 2: 0}


def test_it_keeps_the_old_appointment_when_the_move_fails(
    asha: Beneficiary, session: Session, sea_hospital: Facility
) -> None:
    (appointment,) = appointment_book(
        beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW
    )
    closed = make_session(sea_hospital, release_at=NOW + timedelta(hours=3))

    with pytest.raises(DomainError, match="not_released"):
        appointment_reschedule(
            appointment=appointment, session=closed, slot=_first_slot(closed), now=NOW
        )

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert _counts(session) == {1: 1, 2: 0}


def test_it_charges_the_private_fee_shown_on_the_session(
    asha: Beneficiary, river_clinic: Facility
) -> None:
    from vaxnet.facilities.services import facility_set_fee

    facility_set_fee(
        by=None,
        facility=river_clinic,
        vaccine=Vaccine.objects.get(code="COVISHIELD"),
        amount=Decimal(780),
    )
    session = make_session(river_clinic)

    assert session.fee == Decimal("780.00")


def test_it_cancels_a_session_and_tells_everyone_booked(
    citizen: Account, session: Session, manager: object
) -> None:
    members = [make_member(citizen, seed) for seed in range(1, 3)]
    appointment_book(beneficiaries=members, session=session, slot=_first_slot(session), now=NOW)

    session_cancel(by=manager, session=session, reason="Vaccine delivery delayed")  # type: ignore[arg-type]

    assert session.status == Session.Status.CANCELLED
    assert set(Appointment.objects.values_list("status", flat=True)) == {"cancelled"}
    assert _counts(session) == {1: 0, 2: 0}
    messages = Message.objects.filter(template="session_cancelled")
    assert messages.count() == 2
    assert "https://vaccinate.test/centres/" in messages.first().body  # type: ignore[union-attr]
    with pytest.raises(DomainError, match="session_not_planned"):
        session_cancel(by=None, session=session, reason="again")


def test_it_needs_a_reason_to_cancel_a_session(session: Session) -> None:
    with pytest.raises(DomainError, match="reason_required"):
        session_cancel(by=None, session=session, reason="  ")
    session.refresh_from_db()
    assert session.status == Session.Status.PLANNED


def test_it_refuses_to_cancel_a_session_that_has_begun(asha: Beneficiary, session: Session) -> None:
    (appointment,) = appointment_book(
        beneficiaries=[asha], session=session, slot=_first_slot(session), now=NOW
    )
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CHECKED_IN)

    with pytest.raises(DomainError, match="session_started"):
        session_cancel(by=None, session=session, reason="rain")

    session.refresh_from_db()
    assert session.status == Session.Status.PLANNED
