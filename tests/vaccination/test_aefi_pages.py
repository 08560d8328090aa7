"""Adverse event pages: staff and citizen reports, the open list, an event and its follow-up."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from vaxnet.booking.models import Appointment
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.aefi import aefi_report_by_staff
from vaxnet.vaccination.models import Aefi, Vaccination

from ..stock.ledger_helpers import NOW, signed_in
from .day import check_in, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

ONSET = (NOW + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def dose(booked: Appointment, verifier: User, vaccinator: User, batch: Batch) -> Vaccination:
    check_in(booked, verifier, 1)
    return record(booked, vaccinator, batch)


@pytest.fixture
def later() -> Any:
    """An hour after the dose, so that the event may have begun."""
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        yield


def report(by: User, dose: Vaccination, **changes: Any) -> Aefi:
    values: dict[str, Any] = {
        "by": by,
        "vaccination": dose,
        "onset_at": NOW + timedelta(minutes=30),
        "symptoms": ["anaphylaxis"],
        "severity": "serious",
        "criteria": ["life_threatening"],
        "outcome": "recovering",
        "now": NOW + timedelta(hours=1),
    }
    return aefi_report_by_staff(**(values | changes))


def form(dose: Vaccination, **changes: Any) -> dict[str, Any]:
    return {
        "vaccination": dose.public_id,
        "onset_at": ONSET,
        "symptoms": ["fever", "rash"],
        "severity": "severe",
        "outcome": "recovering",
        "description": "High fever overnight.",
    } | changes


def test_staff_report_from_a_dose_record_alerts_the_district(
    dose: Vaccination,
    vaccinator: User,
    district_admin: User,
    later: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    district_admin.email = "hill@example.org"
    district_admin.save()
    client = signed_in(vaccinator)
    url = reverse("aefi:staff_report")
    page = client.get(url, {"record": dose.public_id})
    assert page.status_code == 200
    assert b'name="vaccination"' in page.content
    assert b"Guillain-Barr" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"record": dose.public_id, **form(dose)})
    aefi = Aefi.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("aefi:detail", args=[aefi.public_id])
    assert (aefi.severity, aefi.symptoms, aefi.reported_by) == (
        "severe",
        ["fever", "rash"],
        vaccinator,
    )
    assert mail.outbox[0].to == ["hill@example.org"]


def test_staff_report_from_a_person_shows_refusals_beside_the_fields(
    dose: Vaccination, vaccinator: User, later: None
) -> None:
    client = signed_in(vaccinator)
    url = reverse("aefi:staff_report")
    reference = dose.beneficiary.reference
    page = client.get(url, {"person": reference})
    assert dose.public_id.encode() in page.content

    response = client.post(url, {"person": reference, **form(dose, severity="serious")})
    assert response.status_code == 400
    assert b'id="id_criteria_error"' in response.content
    assert b'href="#id_criteria"' in response.content
    response = client.post(url, {"person": reference, **form(dose, onset_at="yesterday")})
    assert response.status_code == 400
    assert b'id="id_onset_at_error"' in response.content
    assert not Aefi.objects.exists()


def test_staff_report_answers_404_for_a_person_or_dose_out_of_scope(
    dose: Vaccination, outsider: User
) -> None:
    client = signed_in(outsider)
    url = reverse("aefi:staff_report")
    assert client.get(url, {"record": dose.public_id}).status_code == 404
    assert client.get(url, {"person": dose.beneficiary.reference}).status_code == 404
    assert client.post(url, {"record": dose.public_id, **form(dose)}).status_code == 404
    assert client.get(url).status_code == 200  # the search form


def test_the_admins_list_puts_open_serious_events_first_with_counts(
    dose: Vaccination, vaccinator: User, district_admin: User, django_assert_max_num_queries: Any
) -> None:
    report(vaccinator, dose, severity="minor", criteria=[], symptoms=["fever"])
    worst = report(vaccinator, dose)
    client = signed_in(district_admin)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("aefi:staff_list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index(reverse("aefi:detail", args=[worst.public_id])) < text.index("Minor</strong>")
    assert "<strong>1</strong> serious event waits for follow-up" in text
    partial = client.get(reverse("aefi:staff_list"), {"severity": "minor"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert worst.public_id.encode() not in partial.content


def test_an_admin_of_another_district_gets_404(
    dose: Vaccination, vaccinator: User, river_clinic: Facility
) -> None:
    aefi = report(vaccinator, dose)
    river = User.objects.create_user("river_admin")
    StaffMembership.objects.create(user=river, role=Role.DISTRICT_ADMIN, region=river_clinic.region)
    client = signed_in(river)
    assert client.get(reverse("aefi:detail", args=[aefi.public_id])).status_code == 404
    follow = client.post(
        reverse("aefi:follow_up", args=[aefi.public_id]), {"note": "x", "outcome": "recovered"}
    )
    assert follow.status_code == 404
    assert aefi.public_id.encode() not in client.get(reverse("aefi:staff_list")).content


def test_the_admin_follows_up_and_closing_without_follow_up_is_refused(
    dose: Vaccination, vaccinator: User, district_admin: User
) -> None:
    aefi = report(vaccinator, dose)
    client = signed_in(district_admin)
    detail = client.get(reverse("aefi:detail", args=[aefi.public_id]))
    assert b'id="follow-up-form"' in detail.content
    assert b"Anaphylaxis" in detail.content

    closing = client.post(reverse("aefi:close", args=[aefi.public_id]), HTTP_HX_REQUEST="true")
    assert closing.status_code == 400
    assert b'href="#id_close_note"' in closing.content
    empty = client.post(
        reverse("aefi:follow_up", args=[aefi.public_id]), {"note": "", "outcome": "recovered"}
    )
    assert empty.status_code == 400
    assert b'id="id_note_error"' in empty.content
    aefi.refresh_from_db()
    assert aefi.is_open()

    done = client.post(
        reverse("aefi:follow_up", args=[aefi.public_id]),
        {"note": "Recovered after treatment.", "outcome": "recovered", "close": "1"},
    )
    assert done.status_code == 302
    aefi.refresh_from_db()
    assert (aefi.status, aefi.outcome) == ("closed", "recovered")


def test_the_manager_closes_a_minor_event_but_not_a_serious_one(
    dose: Vaccination, vaccinator: User, manager: User
) -> None:
    minor = report(vaccinator, dose, severity="minor", criteria=[], symptoms=["fever"])
    worst = report(vaccinator, dose)
    client = signed_in(manager)
    assert b'id="close-form"' in client.get(reverse("aefi:detail", args=[minor.public_id])).content
    assert (
        b'id="close-form"' not in client.get(reverse("aefi:detail", args=[worst.public_id])).content
    )
    assert client.post(reverse("aefi:close", args=[minor.public_id])).status_code == 302
    assert client.post(reverse("aefi:close", args=[worst.public_id])).status_code == 403
    assert (
        client.post(
            reverse("aefi:follow_up", args=[worst.public_id]), {"note": "x", "outcome": "recovered"}
        ).status_code
        == 404
    )
    minor.refresh_from_db()
    worst.refresh_from_db()
    assert (minor.status, worst.status) == ("closed", "open")


def _citizen_client(account: Account) -> Client:
    client = Client()
    session = client.session
    session["vaxnet_account"] = account.pk
    session.save()
    return client


def test_a_citizen_reports_for_a_member_of_the_account(
    dose: Vaccination, citizen: Account, asha: Beneficiary, later: None
) -> None:
    client = _citizen_client(citizen)
    url = reverse("aefi:citizen_report", args=[asha.reference])
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="id_reporter_name"' in page.content

    missing = client.post(url, form(dose, severity="minor"))
    assert missing.status_code == 400
    assert b'id="id_reporter_name_error"' in missing.content
    done = client.post(url, form(dose, severity="minor", reporter_name="Asha"))
    assert done.status_code == 302
    assert done["Location"] == reverse("people:account")
    aefi = Aefi.objects.get()
    assert (aefi.reporter_kind, aefi.reporter_phone) == ("citizen", citizen.phone)


def test_a_citizen_gets_404_for_someone_elses_member_and_sign_in_first(
    dose: Vaccination, asha: Beneficiary, country: Any
) -> None:
    from ..booking.test_appointments import make_account

    url = reverse("aefi:citizen_report", args=[asha.reference])
    assert Client().get(url).status_code == 302
    stranger = _citizen_client(make_account(country, "+919812311111"))
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, form(dose, reporter_name="X")).status_code == 404
    assert not Aefi.objects.exists()
