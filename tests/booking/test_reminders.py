"""Day-before reminders: tomorrow's booked appointments, once each, in the account's language."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from vaxnet.booking import reminders
from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.planning import SlotSpec
from vaxnet.booking.reminders import reminders_send
from vaxnet.booking.services import appointment_book, appointment_cancel
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.notifications.models import Message
from vaxnet.people.models import Account

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
TODAY = NOW.date()
TOMORROW = TODAY + timedelta(days=1)
# The evening before the sessions of TOMORROW, within the sending hours.
EVENING = datetime(2026, 3, 2, 18, 0, tzinfo=KOLKATA)


def _book(account: Account, seed: int, session: Session, name: str = "") -> Appointment:
    member = make_member(account, seed, name=name)
    slot = session.slots.order_by("starts_at").first()
    assert slot is not None
    (appointment,) = appointment_book(beneficiaries=[member], session=session, slot=slot, now=NOW)
    return appointment


def _reminded() -> dict[str, str]:
    """Return each reminder's body by the appointment it is about."""
    return {
        message.dedupe_key.removeprefix("reminder:"): message.body
        for message in Message.objects.filter(template="reminder")
    }


def test_it_reminds_tomorrows_bookings_only(country: Country, hill_phc: Facility) -> None:
    account = make_account(country, "+919800000001")
    tomorrow = _book(account, 1, make_session(hill_phc, on=TOMORROW))
    _book(account, 2, make_session(hill_phc, on=TODAY))
    _book(account, 3, make_session(hill_phc, on=TOMORROW + timedelta(days=1)))

    assert reminders_send(now=EVENING) == 1

    assert list(_reminded()) == [tomorrow.public_id]


def test_it_skips_cancelled_appointments_and_sessions(
    country: Country, hill_phc: Facility, river_clinic: Facility
) -> None:
    account = make_account(country, "+919800000002")
    session = make_session(hill_phc, on=TOMORROW)
    kept = _book(account, 1, session)
    appointment_cancel(appointment=_book(account, 2, session))
    other = make_session(river_clinic, on=TOMORROW)
    _book(account, 3, other)
    Session.objects.filter(pk=other.pk).update(status=Session.Status.CLOSED)

    assert reminders_send(now=EVENING) == 1

    assert list(_reminded()) == [kept.public_id]


def test_it_reminds_each_appointment_once(
    country: Country,
    hill_phc: Facility,
    river_clinic: Facility,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One session a page, two appointments a batch: every page and batch edge is crossed.
    monkeypatch.setattr(reminders, "SESSION_PAGE", 1)
    monkeypatch.setattr(reminders, "BATCH", 2)
    sessions = [
        make_session(
            facility, on=TOMORROW, capacity={1: (5, 0)}, slots=[SlotSpec(time(9), time(11), 5)]
        )
        for facility in (hill_phc, river_clinic)
    ]
    booked = [
        _book(make_account(country, f"+91980000010{n}"), n, sessions[n % 2], name=f"Member {n}")
        for n in range(7)
    ]

    assert reminders_send(now=EVENING) == 7
    assert reminders_send(now=EVENING + timedelta(hours=1)) == 0

    assert sorted(_reminded()) == sorted(a.public_id for a in booked)
    assert Message.objects.filter(template="reminder").count() == 7


def test_it_writes_in_the_accounts_language(country: Country, hill_phc: Facility) -> None:
    session = make_session(hill_phc, on=TOMORROW)
    hindi = _book(make_account(country, "+919800000003", language="hi"), 1, session, name="Asha")
    english = _book(make_account(country, "+919800000004"), 2, session, name="Ravi")

    reminders_send(now=EVENING)

    message = Message.objects.get(dedupe_key=f"reminder:{hindi.public_id}")
    assert message.language == "hi"
    assert message.recipient == "+919800000003"
    assert message.body.startswith("अनुस्मारक: Asha का टीकाकरण कल")
    assert "09:00–11:00" in message.body
    assert hindi.security_code in message.body
    body = _reminded()[english.public_id]
    assert body.startswith("Reminder: Ravi is booked for vaccination tomorrow")
    assert english.security_code in body


def test_it_goes_on_past_a_message_it_cannot_send(country: Country, hill_phc: Facility) -> None:
    session = make_session(hill_phc, on=TOMORROW)
    dropped = make_account(country, "+919800000008")
    _book(dropped, 1, session)
    # A language the deployment no longer speaks: the outbox refuses that one message only.
    Account.objects.filter(pk=dropped.pk).update(language="sw")
    fine = _book(make_account(country, "+919800000009"), 2, session)

    assert reminders_send(now=EVENING) == 1

    assert list(_reminded()) == [fine.public_id]


def test_it_counts_tomorrow_in_the_countrys_time_zone(country: Country, hill_phc: Facility) -> None:
    # 00:30 on 3 March in Kolkata is still 2 March in UTC: tomorrow is the 4th, not the 3rd.
    country.config["booking"]["reminder_hour"] = 0
    country.save(update_fields=["config"])
    account = make_account(country, "+919800000005")
    _book(account, 1, make_session(hill_phc, on=TOMORROW))
    day_after = _book(account, 2, make_session(hill_phc, on=TOMORROW + timedelta(days=1)))
    just_after_midnight = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)

    assert reminders_send(now=just_after_midnight) == 1

    assert list(_reminded()) == [day_after.public_id]


def test_it_sends_nothing_at_night(country: Country, hill_phc: Facility) -> None:
    _book(make_account(country, "+919800000006"), 1, make_session(hill_phc, on=TOMORROW))

    assert reminders_send(now=datetime(2026, 3, 2, 22, 0, tzinfo=KOLKATA)) == 0
    assert reminders_send(now=datetime(2026, 3, 2, 8, 0, tzinfo=KOLKATA)) == 0

    assert not _reminded()


def test_the_command_queues_the_reminders(
    country: Country, hill_phc: Facility, capsys: pytest.CaptureFixture[str]
) -> None:
    _book(make_account(country, "+919800000007"), 1, make_session(hill_phc, on=TOMORROW))

    with time_machine.travel(EVENING, tick=False):
        call_command("send_reminders")

    assert "1 reminders queued." in capsys.readouterr().out
    assert len(_reminded()) == 1
