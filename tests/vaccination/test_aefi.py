"""Adverse events following immunisation: the report's rules, the district's alert, follow-up."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from vaxnet.booking.models import Appointment
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.aefi import (
    aefi_close,
    aefi_follow_up,
    aefi_report_by_citizen,
    aefi_report_by_staff,
    aefis_in_scope,
    district_admins,
    open_counts,
    open_first,
)
from vaxnet.vaccination.models import Aefi, Vaccination
from vaxnet.vaccination.roles import AEFI_FOLLOWERS

from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import NOW, refusal_code
from .day import check_in, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

LATER = NOW + timedelta(hours=3)


@pytest.fixture
def dose(booked: Appointment, verifier: User, vaccinator: User, batch: Batch) -> Vaccination:
    """Asha's first dose, given at Hill Town PHC at NOW."""
    check_in(booked, verifier, 1)
    return record(booked, vaccinator, batch)


@pytest.fixture
def alerted(district_admin: User) -> User:
    district_admin.email = "hill.admin@example.org"
    district_admin.save()
    return district_admin


def staff_report(by: User, dose: Vaccination, **changes: Any) -> Aefi:
    values: dict[str, Any] = {
        "by": by,
        "vaccination": dose,
        "onset_at": NOW + timedelta(hours=1),
        "symptoms": ["fever", "injection_site"],
        "severity": "minor",
        "outcome": "recovering",
        "now": LATER,
    }
    return aefi_report_by_staff(**(values | changes))


def serious(by: User, dose: Vaccination, **changes: Any) -> Aefi:
    values = {
        "severity": "serious",
        "criteria": ["hospitalisation"],
        "symptoms": ["anaphylaxis"],
    }
    return staff_report(by, dose, **(values | changes))


def test_it_records_a_staff_report_with_the_core_variables_and_audits_it(
    dose: Vaccination, vaccinator: User, hill_phc: Facility
) -> None:
    aefi = staff_report(vaccinator, dose, description=" arm sore ")

    aefi.refresh_from_db()
    assert aefi.beneficiary == dose.beneficiary
    assert aefi.facility == hill_phc
    assert aefi.region_path == hill_phc.region_path
    # Kept in the list's order, whatever order they came in.
    assert aefi.symptoms == ["injection_site", "fever"]
    assert (aefi.severity, aefi.outcome, aefi.status) == ("minor", "recovering", "open")
    assert (aefi.reporter_kind, aefi.reported_by, aefi.reporter_name) == (
        "staff",
        vaccinator,
        "vaccinator",
    )
    assert aefi.description == "arm sore"
    assert aefi.reported_at == LATER
    assert AuditEvent.objects.filter(
        action="aefi.report", actor=vaccinator, object_id=str(aefi.pk)
    ).exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"onset_at": None}, "onset_required"),
        ({"onset_at": LATER + timedelta(minutes=1)}, "onset_future"),
        ({"onset_at": NOW - timedelta(minutes=1)}, "onset_before_dose"),
        ({"symptoms": []}, "symptoms_required"),
        ({"symptoms": ["fever", "hiccups"]}, "symptom_unknown"),
        ({"symptoms": ["other"]}, "description_required"),
        ({"severity": "mild"}, "severity_unknown"),
        ({"outcome": "fine"}, "outcome_unknown"),
        ({"severity": "serious"}, "criteria_required"),
        ({"severity": "serious", "criteria": ["bad"]}, "criterion_unknown"),
        ({"severity": "severe", "criteria": ["hospitalisation"]}, "criteria_not_serious"),
        ({"severity": "serious", "criteria": ["death"]}, "death_criterion"),
        (
            {"severity": "serious", "criteria": ["life_threatening"], "outcome": "died"},
            "death_criterion",
        ),
        ({"outcome": "died"}, "death_criterion"),
    ],
)
def test_it_refuses_a_report_that_does_not_hold_together(
    dose: Vaccination, vaccinator: User, changes: dict[str, Any], code: str
) -> None:
    assert refusal_code(staff_report, vaccinator, dose, **changes) == code
    assert not Aefi.objects.exists()
    assert not AuditEvent.objects.filter(action="aefi.report").exists()


def test_it_takes_other_with_a_description_and_a_death_as_serious(
    dose: Vaccination, vaccinator: User
) -> None:
    other = staff_report(vaccinator, dose, symptoms=["other"], description="Dizzy spells")
    assert other.symptoms == ["other"]
    died = serious(vaccinator, dose, criteria=["death", "hospitalisation"], outcome="died")
    assert died.criteria == ["death", "hospitalisation"]


def test_it_refuses_a_dose_entered_in_error(dose: Vaccination, vaccinator: User) -> None:
    Vaccination.objects.filter(pk=dose.pk).update(
        status=Vaccination.Status.ENTERED_IN_ERROR, error_at=NOW
    )
    dose.refresh_from_db()
    assert refusal_code(staff_report, vaccinator, dose) == "vaccination_in_error"


def test_it_records_a_citizens_report_for_a_member_of_the_account(
    dose: Vaccination, citizen: Account, asha: Beneficiary
) -> None:
    aefi = aefi_report_by_citizen(
        account=citizen,
        beneficiary=asha,
        vaccination=dose,
        onset_at=NOW + timedelta(hours=2),
        symptoms=["headache"],
        severity="minor",
        outcome="recovered",
        reporter_name=" Ravi (husband) ",
        now=LATER,
    )
    assert (aefi.reporter_kind, aefi.reported_by) == ("citizen", None)
    assert (aefi.reporter_name, aefi.reporter_phone) == ("Ravi (husband)", citizen.phone)
    event = AuditEvent.objects.get(action="aefi.report")
    assert event.actor_label == f"account:{citizen.pk}"


def test_it_refuses_a_citizens_report_without_a_name_or_for_someone_else(
    dose: Vaccination, citizen: Account, asha: Beneficiary, country: Any
) -> None:
    report: Callable[..., Aefi] = aefi_report_by_citizen
    values: dict[str, Any] = {
        "account": citizen,
        "beneficiary": asha,
        "vaccination": dose,
        "onset_at": NOW + timedelta(hours=1),
        "symptoms": ["fever"],
        "severity": "minor",
        "outcome": "recovered",
        "reporter_name": "",
        "now": LATER,
    }
    assert refusal_code(report, **values) == "reporter_required"
    stranger = make_account(country, "+919812300000")
    assert refusal_code(report, **(values | {"account": stranger, "reporter_name": "X"})) == (
        "not_found"
    )
    sister = make_member(citizen, 2, name="Sita")
    assert refusal_code(report, **(values | {"beneficiary": sister, "reporter_name": "X"})) == (
        "vaccination_unknown"
    )
    assert not Aefi.objects.exists()


# The alert


def test_a_serious_event_emails_the_district_admins_once_committed(
    dose: Vaccination,
    vaccinator: User,
    alerted: User,
    state_admin: User,
    river_clinic: Facility,
    django_capture_on_commit_callbacks: Any,
) -> None:
    state_admin.email = "state@example.org"
    state_admin.save()
    river = User.objects.create_user("river_admin", email="river@example.org")
    StaffMembership.objects.create(user=river, role=Role.DISTRICT_ADMIN, region=river_clinic.region)
    gone = User.objects.create_user("gone_admin", email="gone@example.org", is_active=False)
    StaffMembership.objects.create(user=gone, role=Role.DISTRICT_ADMIN, region=alerted_region())
    no_mail = User.objects.create_user("no_mail_admin")
    StaffMembership.objects.create(user=no_mail, role=Role.DISTRICT_ADMIN, region=alerted_region())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        aefi = serious(vaccinator, dose)
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["hill.admin@example.org"]
    assert "Hill Town" in message.subject
    assert f"/aefi/{aefi.public_id}/" in message.body
    assert "Anaphylaxis" in message.body
    assert district_admins(dose.facility) == [alerted]


def alerted_region() -> Region:
    return Region.objects.get(code="TS-N-HIL")


def test_a_severe_event_alerts_too_and_a_minor_one_does_not(
    dose: Vaccination, vaccinator: User, alerted: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        staff_report(vaccinator, dose)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        staff_report(vaccinator, dose, severity="severe")
    assert len(mail.outbox) == 1


def test_a_refused_report_alerts_nobody(
    dose: Vaccination, vaccinator: User, alerted: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        serious(vaccinator, dose, criteria=[])
    assert mail.outbox == []


def test_a_mail_server_that_is_down_keeps_the_report(
    dose: Vaccination,
    vaccinator: User,
    alerted: User,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_PORT = 1  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        aefi = serious(vaccinator, dose)
    assert Aefi.objects.get(pk=aefi.pk).is_open()


# The open list


def test_open_events_come_serious_first_with_counts_in_the_admins_region(
    dose: Vaccination, vaccinator: User, district_admin: User
) -> None:
    minor = staff_report(vaccinator, dose)
    worst = serious(vaccinator, dose)
    severe = staff_report(vaccinator, dose, severity="severe")
    events = aefis_in_scope(district_admin, AEFI_FOLLOWERS)
    assert list(open_first(events)) == [worst, severe, minor]
    assert open_counts(events) == {"minor": 1, "severe": 1, "serious": 1}


# Follow-up and closing


def test_a_serious_event_stays_open_until_an_admin_writes_its_follow_up(
    dose: Vaccination, vaccinator: User, manager: User, district_admin: User
) -> None:
    aefi = serious(vaccinator, dose)
    assert refusal_code(aefi_close, by=district_admin, aefi=aefi) == "follow_up_required"
    assert refusal_code(aefi_close, by=manager, aefi=aefi) == "aefi_needs_admin"
    assert refusal_code(aefi_close, by=vaccinator, aefi=aefi) == "not_found"
    assert (
        refusal_code(aefi_follow_up, by=district_admin, aefi=aefi, note="  ", outcome="recovered")
        == "follow_up_required"
    )
    assert (
        refusal_code(aefi_follow_up, by=district_admin, aefi=aefi, note="Seen", outcome="x")
        == "outcome_unknown"
    )
    assert refusal_code(aefi_follow_up, by=manager, aefi=aefi, note="x", outcome="recovered") == (
        "not_found"
    )
    assert Aefi.objects.get(pk=aefi.pk).is_open()

    aefi_follow_up(
        by=district_admin,
        aefi=aefi,
        note="Visited at home; discharged from hospital.",
        outcome="recovering",
        now=LATER,
    )
    aefi.refresh_from_db()
    assert aefi.is_open()
    assert aefi.outcome == "recovering"
    assert "discharged" in aefi.follow_up
    assert (aefi.followed_up_by, aefi.followed_up_at) == (district_admin, LATER)

    aefi_close(by=district_admin, aefi=aefi)
    aefi.refresh_from_db()
    assert not aefi.is_open()
    assert refusal_code(aefi_close, by=district_admin, aefi=aefi) == "aefi_closed"
    assert (
        refusal_code(aefi_follow_up, by=district_admin, aefi=aefi, note="x", outcome="recovered")
        == "aefi_closed"
    )
    actions = list(
        AuditEvent.objects.filter(object_id=str(aefi.pk), action__startswith="aefi.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["aefi.report", "aefi.follow_up", "aefi.close"]


def test_a_follow_up_can_close_at_once_and_a_death_makes_the_event_serious(
    dose: Vaccination, vaccinator: User, state_admin: User
) -> None:
    aefi = staff_report(vaccinator, dose, severity="severe")
    aefi_follow_up(by=state_admin, aefi=aefi, note="Died in hospital.", outcome="died", close=True)
    aefi.refresh_from_db()
    assert (aefi.status, aefi.severity, aefi.criteria) == ("closed", "serious", ["death"])


def test_a_minor_event_is_closed_by_the_facility_manager_without_a_note(
    dose: Vaccination, vaccinator: User, manager: User
) -> None:
    aefi = staff_report(vaccinator, dose)
    assert refusal_code(aefi_close, by=vaccinator, aefi=aefi) == "not_found"
    aefi_close(by=manager, aefi=aefi)
    aefi.refresh_from_db()
    assert aefi.status == "closed"
    assert aefi.followed_up_by == manager


def test_an_admin_of_another_district_cannot_follow_up_or_close(
    dose: Vaccination, vaccinator: User, river_clinic: Facility
) -> None:
    river = User.objects.create_user("river_admin")
    StaffMembership.objects.create(user=river, role=Role.DISTRICT_ADMIN, region=river_clinic.region)
    aefi = serious(vaccinator, dose)
    assert refusal_code(aefi_follow_up, by=river, aefi=aefi, note="x", outcome="recovered") == (
        "not_found"
    )
    assert refusal_code(aefi_close, by=river, aefi=aefi, note="x") == "not_found"
    assert not aefis_in_scope(river, AEFI_FOLLOWERS).exists()
