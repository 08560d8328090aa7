"""The facility day's pages: today's sessions, the front desk, the queue, the close, the summary."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Batch, SessionStock
from vaxnet.stock.services import batch_recall
from vaxnet.vaccination.models import NotGiven, Vaccination

from ..stock.ledger_helpers import make_batch, signed_in, stocked
from .day import aadhaar, check_in, issue, make_day_session, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

HTMX = {"HX-Request": "true"}


def _url(name: str, session: Session, *args: str) -> str:
    return reverse(f"day:{name}", args=[session.public_id, *args])


def _check_in_data(appointment: Appointment, *, code: str | None = None, seed: int = 1) -> dict:
    prefix = appointment.public_id
    return {
        f"{prefix}-security_code": appointment.security_code if code is None else code,
        f"{prefix}-id_number": aadhaar(seed),
    }


def test_it_lists_todays_sessions_at_the_staff_members_facilities(
    today_session: Session, verifier: User, outsider: User, client: Client
) -> None:
    page = signed_in(verifier).get(reverse("day:home"))

    assert page.status_code == 200
    assert _url("session", today_session) in page.content.decode()
    assert (
        _url("session", today_session)
        not in signed_in(outsider).get(reverse("day:home")).content.decode()
    )
    assert client.get(reverse("day:home")).status_code == 302


def test_it_answers_404_outside_the_staff_members_scope_or_role(
    booked: Appointment, outsider: User, store_keeper: User, verifier: User, vaccinator: User
) -> None:
    session = booked.session
    assert signed_in(outsider).get(_url("session", session)).status_code == 404
    assert signed_in(store_keeper).get(_url("session", session)).status_code == 404
    assert signed_in(verifier).get(_url("queue", session)).status_code == 404
    assert signed_in(vaccinator).get(_url("close", session)).status_code == 404
    assert signed_in(verifier).get(_url("summary", session)).status_code == 404
    assert signed_in(verifier).get(reverse("day:session", args=["nope"])).status_code == 404
    answer = signed_in(outsider).post(
        _url("check_in", session, booked.public_id), _check_in_data(booked)
    )
    assert answer.status_code == 404


def test_it_answers_404_for_an_appointment_of_another_session(
    booked: Appointment, hill_phc: Facility, verifier: User, batch: Batch
) -> None:
    other = make_day_session(hill_phc, vaccine="COVAXIN")

    answer = signed_in(verifier).post(
        _url("check_in", other, booked.public_id), _check_in_data(booked)
    )

    assert answer.status_code == 404
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


@pytest.mark.parametrize("query", ["Asha", "as", "5678", "reference"])
def test_it_finds_the_booked_person_by_name_mobile_or_reference(
    booked: Appointment, verifier: User, query: str
) -> None:
    query = booked.beneficiary.reference if query == "reference" else query

    page = signed_in(verifier).get(
        _url("session", booked.session), {"q": query}, headers={**HTMX, "HX-Target": "found"}
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" not in html  # the results only, for htmx
    assert f'id="person-{booked.public_id}"' in html
    assert booked.beneficiary.masked_id() in html
    assert booked.beneficiary.id_type.name in html


def test_it_finds_nobody_for_a_stranger(booked: Appointment, verifier: User) -> None:
    page = signed_in(verifier).get(_url("session", booked.session), {"q": "Zebedee"})

    assert f'id="person-{booked.public_id}"' not in page.content.decode()


def test_it_checks_a_person_in_with_code_and_id_number(booked: Appointment, verifier: User) -> None:
    client = signed_in(verifier)

    answer = client.post(
        _url("check_in", booked.session, booked.public_id), _check_in_data(booked), headers=HTMX
    )

    assert answer.status_code == 200
    html = answer.content.decode()
    assert f'id="person-{booked.public_id}"' in html and 'role="status"' in html
    booked.refresh_from_db()
    assert (booked.status, booked.checked_in_by) == (Appointment.Status.CHECKED_IN, verifier)


def test_it_shows_a_wrong_code_or_id_beside_the_field_and_checks_nobody_in(
    booked: Appointment, verifier: User
) -> None:
    client = signed_in(verifier)
    wrong = "0000" if booked.security_code != "0000" else "1111"
    url = _url("check_in", booked.session, booked.public_id)

    by_code = client.post(url, _check_in_data(booked, code=wrong), headers=HTMX)
    by_id = client.post(url, _check_in_data(booked, seed=2))
    empty = client.post(url, {}, headers=HTMX)

    assert by_code.status_code == 400
    assert f'href="#id_{booked.public_id}-security_code"' in by_code.content.decode()
    assert by_id.status_code == 400
    assert "<html" in by_id.content.decode()  # without htmx, the whole desk again
    assert f'href="#id_{booked.public_id}-id_number"' in by_id.content.decode()
    assert empty.status_code == 422
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_it_checks_in_without_javascript_and_comes_back_to_the_desk(
    booked: Appointment, verifier: User
) -> None:
    answer = signed_in(verifier).post(
        _url("check_in", booked.session, booked.public_id), _check_in_data(booked)
    )

    assert answer.status_code == 302
    assert answer["Location"] == _url("session", booked.session)


def _walk_in_data(seed: int, **extra: str) -> dict:
    return {
        "name": f"Walk-in {seed}",
        "sex": "male",
        "birth_year": "1975",
        "id_type": "aadhaar",
        "id_number": aadhaar(seed),
        "phone": "",
        **extra,
    }


def test_it_registers_and_checks_in_a_walk_in(today_session: Session, verifier: User) -> None:
    client = signed_in(verifier)
    desk = client.get(_url("session", today_session)).content.decode()
    assert 'id="onsite-left"' in desk and "4 on-site places left" in desk

    answer = client.post(_url("walk_in", today_session), _walk_in_data(5), headers=HTMX)

    assert answer.status_code == 200
    assert answer["HX-Redirect"] == _url("session", today_session)
    walk_in = Appointment.objects.get(session=today_session)
    assert (walk_in.channel, walk_in.status) == ("onsite", Appointment.Status.CHECKED_IN)


def test_it_shows_why_a_walk_in_is_refused(today_session: Session, verifier: User) -> None:
    client = signed_in(verifier)

    bad_id = client.post(
        _url("walk_in", today_session), _walk_in_data(5, id_number="1234"), headers=HTMX
    )
    young = client.post(_url("walk_in", today_session), _walk_in_data(6, birth_year="2020"))
    missing = client.post(_url("walk_in", today_session), {"name": ""}, headers=HTMX)

    assert bad_id.status_code == 400 and 'id="walk-in"' in bad_id.content.decode()
    assert young.status_code == 400 and "<html" in young.content.decode()
    assert missing.status_code == 422
    assert not Appointment.objects.filter(session=today_session).exists()


def test_the_queue_offers_the_issued_batches_first_expiry_first_and_marks_the_unusable(
    booked: Appointment,
    verifier: User,
    vaccinator: User,
    batch: Batch,
    phc_store: object,
) -> None:
    session = booked.session
    sooner = stocked(phc_store, make_batch("LOT-S", expires_on=date(2026, 6, 30)), 50)  # type: ignore[arg-type]
    recalled = stocked(phc_store, make_batch("LOT-R"), 50)  # type: ignore[arg-type]
    issue(session, sooner, 1)
    issue(session, recalled, 1)
    batch_recall(by=None, batch=recalled, reason="quality")
    check_in(booked, verifier, 1)

    html = signed_in(vaccinator).get(_url("queue", session)).content.decode()

    assert f'id="queue-{booked.public_id}"' in html
    assert f'<option value="{sooner.public_id}" selected>' in html
    assert f'value="{recalled.public_id}"' not in html
    assert 'id="batches-unavailable"' in html and "LOT-R" in html
    assert 'class="dose-due">1<' in html


def test_it_records_the_dose_from_the_queue_and_shows_it_recorded(
    booked: Appointment, verifier: User, vaccinator: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    prefix = f"r{booked.public_id}"

    answer = signed_in(vaccinator).post(
        _url("record", booked.session, booked.public_id),
        {f"{prefix}-batch": batch.public_id, f"{prefix}-site": "left_arm"},
        headers=HTMX,
    )

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "<html" not in html and 'id="queue"' in html
    assert f'id="done-{booked.public_id}"' in html and "dose 1 recorded" in html
    assert f'id="queue-{booked.public_id}"' not in html
    vaccination = Vaccination.objects.get(appointment=booked)
    assert (vaccination.dose_number, vaccination.vaccinator) == (1, vaccinator)


def test_it_refuses_to_record_a_batch_not_offered_or_a_second_time(
    booked: Appointment, verifier: User, vaccinator: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    prefix = f"r{booked.public_id}"
    client = signed_in(vaccinator)
    url = _url("record", booked.session, booked.public_id)

    foreign = client.post(
        url, {f"{prefix}-batch": "XYZ", f"{prefix}-site": "left_arm"}, headers=HTMX
    )
    assert foreign.status_code == 422
    assert not Vaccination.objects.exists()

    data = {f"{prefix}-batch": batch.public_id, f"{prefix}-site": "left_arm"}
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)
    assert again.status_code == 400
    assert Vaccination.objects.count() == 1


def test_it_records_a_dose_not_given(booked: Appointment, verifier: User, vaccinator: User) -> None:
    check_in(booked, verifier, 1)
    prefix = f"n{booked.public_id}"
    url = _url("not_given", booked.session, booked.public_id)
    client = signed_in(vaccinator)

    without_note = client.post(
        url, {f"{prefix}-kind": "refused", f"{prefix}-reason": "other"}, headers=HTMX
    )
    assert without_note.status_code == 400
    assert f'href="#id_{prefix}-note"' in without_note.content.decode()

    answer = client.post(
        url,
        {
            f"{prefix}-kind": "deferred",
            f"{prefix}-reason": "unwell",
            f"{prefix}-until": "2026-03-09",
        },
        headers=HTMX,
    )

    assert answer.status_code == 200
    record = NotGiven.objects.get(appointment=booked)
    assert (record.kind, record.until) == ("deferred", date(2026, 3, 9))


def test_the_close_page_proposes_returning_the_vials_not_needed(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)

    html = signed_in(manager).get(_url("close", booked.session)).content.decode()

    assert 'id="close-vials"' in html
    assert f'name="vials_{batch.public_id}"' in html and 'value="1"' in html
    assert 'id="no-show-count"' in html


def test_it_closes_the_session_and_shows_the_summary(
    booked: Appointment, manager: User, batch: Batch
) -> None:
    client = signed_in(manager)
    session = booked.session

    answer = client.post(_url("close", session), {f"vials_{batch.public_id}": "2"})

    assert answer.status_code == 302 and answer["Location"] == _url("summary", session)
    summary = client.get(answer["Location"]).content.decode()
    assert 'id="summary-no-show">1<' in summary
    assert 'id="summary-batches"' in summary
    assert Session.objects.get(pk=session.pk).status == Session.Status.CLOSED
    # The close page of a closed session sends to its summary.
    assert client.get(_url("close", session))["Location"] == _url("summary", session)


def test_it_refuses_to_close_while_people_wait_or_with_too_many_vials_back(
    booked: Appointment, verifier: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    client = signed_in(manager)
    session = booked.session

    waiting = client.post(_url("close", session), {f"vials_{batch.public_id}": "2"})
    too_many = client.post(_url("close", session), {f"vials_{batch.public_id}": "3"})

    assert waiting.status_code == 400
    assert 'id="people-waiting"' in waiting.content.decode()
    assert too_many.status_code == 422
    assert Session.objects.get(pk=session.pk).status == Session.Status.PLANNED
    assert SessionStock.objects.get(session=session).closed_at is None


def test_a_closed_sessions_desk_checks_nobody_in(
    booked: Appointment, manager: User, verifier: User, batch: Batch, citizen: object
) -> None:
    from vaxnet.vaccination.close import session_close

    session_close(by=manager, session=booked.session, unopened_vials={batch: 2})

    html = signed_in(verifier).get(_url("session", booked.session), {"q": "Asha"}).content
    assert b'class="check-in"' not in html
