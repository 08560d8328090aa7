"""The managers' pages: staff of a facility, a district's sessions, today's progress, open AEFIs."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.stock.services import session_stock_close
from vaxnet.vaccination.models import Aefi

from ..booking.test_appointments import make_member
from ..stock.ledger_helpers import NOW, TODAY, signed_in
from .day import book, check_in, issue, make_day_session, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

HILL = "TS-N-HIL"
SESSIONS = reverse("manage:sessions", kwargs={"region": HILL})
TODAY_PAGE = reverse("manage:today", kwargs={"region": HILL})
AEFI = reverse("manage:aefi", kwargs={"region": HILL})
STAFF = reverse("manage:staff", args=["TS-F1"])
HTMX = {"HX-Request": "true"}


@pytest.fixture
def river_admin(db: None) -> User:
    """The administrator of River District, next to Hill District in the same state."""
    user = User.objects.create_user(username="river_admin", password="x")
    region = Region.objects.get(code="TS-N-RIV")
    StaffMembership.objects.create(user=user, role=Role.DISTRICT_ADMIN, region=region)
    return user


def _aefi(
    person: Beneficiary,
    facility: Facility,
    severity: str,
    *,
    reported_at: datetime = NOW - timedelta(hours=2),
    status: str = Aefi.Status.OPEN,
) -> Aefi:
    return Aefi.objects.create(
        beneficiary=person,
        facility=facility,
        region_path=facility.region_path,
        onset_at=NOW - timedelta(hours=20),
        severity=severity,
        outcome=Aefi.Outcome.RECOVERING,
        reporter_kind=Aefi.ReporterKind.STAFF,
        reported_at=reported_at,
        status=status,
    )


# Who sees what


def test_it_shows_a_manager_their_facility_and_an_admin_their_district(
    manager: User, district_admin: User
) -> None:
    page = signed_in(manager).get(reverse("manage:home"))
    assert page.status_code == 200
    assert "TS-F1" in page.text and "TS-F3" not in page.text
    assert reverse("manage:staff", args=["TS-F1"]) in page.text
    assert SESSIONS not in page.text  # a manager has no region

    page = signed_in(district_admin).get(reverse("manage:home"))
    assert "TS-F1" in page.text and "TS-F3" not in page.text
    assert SESSIONS in page.text and TODAY_PAGE in page.text and AEFI in page.text


def test_it_searches_the_facilities_and_answers_htmx_with_the_list_alone(
    state_admin: User,
) -> None:
    client = signed_in(state_admin)
    page = client.get(reverse("manage:home"), {"q": "river"})
    assert "TS-F2" in page.text and "TS-F1" not in page.text
    partial = client.get(reverse("manage:home"), {"q": "TS-F1"}, headers=HTMX)
    assert "TS-F1" in partial.text and "<html" not in partial.text


@pytest.mark.parametrize("persona", ["verifier", "vaccinator", "store_keeper", "outsider"])
def test_it_answers_404_to_staff_who_do_not_manage(
    persona: str, request: pytest.FixtureRequest, today_session: Session
) -> None:
    client = signed_in(request.getfixturevalue(persona))
    for url in (
        reverse("manage:home"),
        STAFF,
        SESSIONS,
        TODAY_PAGE,
        AEFI,
        reverse("manage:today", kwargs={"facility": "TS-F1"}),
    ):
        assert client.get(url).status_code == 404, url


def test_it_answers_404_to_another_districts_admin_as_to_a_missing_place(
    river_admin: User, today_session: Session
) -> None:
    client = signed_in(river_admin)
    for url in (STAFF, SESSIONS, TODAY_PAGE, AEFI):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("manage:staff", args=["TS-F2"])).status_code == 200
    assert client.get(reverse("manage:staff", args=["NOPE"])).status_code == 404
    missing = reverse("manage:sessions", kwargs={"region": "NOPE"})
    assert client.get(missing).status_code == 404


def test_it_keeps_a_manager_to_their_facility_pages(manager: User) -> None:
    client = signed_in(manager)
    assert client.get(SESSIONS).status_code == 404
    assert client.get(reverse("manage:sessions", kwargs={"facility": "TS-F1"})).status_code == 200
    assert client.get(reverse("manage:aefi", kwargs={"facility": "TS-F1"})).status_code == 200
    assert client.get(reverse("manage:staff", args=["TS-F2"])).status_code == 404


def test_it_sends_a_signed_out_visitor_to_sign_in(client: object) -> None:
    page = client.get(SESSIONS)  # type: ignore[attr-defined]
    assert page.status_code == 302 and "sign" in page["Location"]


# Staff of a facility


def test_it_lists_the_facilitys_staff_with_role_and_last_sign_in(
    manager: User, verifier: User, vaccinator: User, outsider: User
) -> None:
    verifier.first_name, verifier.last_name, verifier.last_login = "Vera", "Fier", NOW
    verifier.save()
    StaffMembership.objects.filter(user=vaccinator).update(active=False)

    page = signed_in(manager).get(STAFF)

    assert page.status_code == 200
    assert "Vera Fier" in page.text and "Verifier" in page.text
    assert "Never" in page.text  # the vaccinator never signed in
    assert "Inactive" in page.text
    assert "outsider" not in page.text
    assert '<th scope="col">' in page.text and "<caption>" in page.text


def test_it_lets_a_manager_add_a_vaccinator_by_user_name_with_an_audit_event(
    manager: User, outsider: User, hill_phc: Facility
) -> None:
    page = signed_in(manager).post(
        reverse("manage:staff_add", args=["TS-F1"]),
        {"username": "outsider", "role": Role.VACCINATOR},
    )

    assert page.status_code == 302
    assert StaffMembership.objects.filter(
        user=outsider, facility=hill_phc, role=Role.VACCINATOR, active=True
    ).exists()
    assert AuditEvent.objects.filter(action="membership.add", actor=manager).count() == 1


def test_it_refuses_a_manager_giving_a_managers_role_and_an_unknown_user(
    manager: User, outsider: User
) -> None:
    client = signed_in(manager)
    url = reverse("manage:staff_add", args=["TS-F1"])
    refused = client.post(url, {"username": "outsider", "role": Role.FACILITY_MANAGER})
    assert refused.status_code == 403
    unknown = client.post(url, {"username": "nobody", "role": Role.VERIFIER}, headers=HTMX)
    assert unknown.status_code == 400
    assert "No active staff user has this user name." in unknown.text
    assert 'aria-invalid="true"' in unknown.text
    assert not StaffMembership.objects.filter(user=outsider, facility__code="TS-F1").exists()


def test_it_lets_a_district_admin_deactivate_and_reactivate_a_manager(
    district_admin: User, manager: User
) -> None:
    membership = StaffMembership.objects.get(user=manager)
    client = signed_in(district_admin)
    url = reverse("manage:staff_active", args=["TS-F1", membership.pk])

    assert client.post(url, {"active": "0"}).status_code == 302
    membership.refresh_from_db()
    assert not membership.active
    assert client.post(url, {"active": "1"}).status_code == 302
    membership.refresh_from_db()
    assert membership.active
    actions = set(AuditEvent.objects.filter(actor=district_admin).values_list("action", flat=True))
    assert actions == {"membership.deactivate", "membership.activate"}


def test_it_does_not_let_a_manager_take_back_a_managers_role(manager: User) -> None:
    membership = StaffMembership.objects.get(user=manager)
    url = reverse("manage:staff_active", args=["TS-F1", membership.pk])
    assert signed_in(manager).post(url, {"active": "0"}).status_code == 403
    membership.refresh_from_db()
    assert membership.active


# Sessions across the district


def test_it_lists_the_districts_sessions_with_their_figures(
    district_admin: User,
    verifier: User,
    vaccinator: User,
    booked: Appointment,
    batch: Batch,
    citizen: Account,
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    other = book(make_member(citizen, 2), booked.session)
    Appointment.objects.filter(pk=other.pk).update(status=Appointment.Status.NO_SHOW)
    tomorrow = make_day_session(Facility.objects.get(code="TS-F1"), on=TODAY + timedelta(days=1))

    page = signed_in(district_admin).get(SESSIONS)

    assert page.status_code == 200
    [session] = page.context["rows"]
    session = session[0]
    assert session.pk == booked.session_id
    figures = {
        name: getattr(session, name)
        for name in ("capacity", "booked", "checked_in", "vaccinated", "no_show", "doses_given")
    }
    assert figures == {
        "capacity": 12,
        "booked": 2,
        "checked_in": 1,
        "vaccinated": 1,
        "no_show": 1,
        "doses_given": 1,
    }
    assert (session.vials_issued, session.stage) == (2, "running")
    assert "<caption>" in page.text and "Hill Town" in page.text

    later = signed_in(district_admin).get(SESSIONS, {"date": tomorrow.date.isoformat()})
    assert [row[0].pk for row in later.context["rows"]] == [tomorrow.pk]


def _page_queries(client: object, url: str, **kwargs: object) -> int:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url, **kwargs)  # type: ignore[attr-defined]
    assert page.status_code == 200
    return len(queries)


def test_it_reads_the_sessions_and_todays_progress_in_a_constant_number_of_queries(
    district_admin: User, today_session: Session, batch: Batch, citizen: Account
) -> None:
    client = signed_in(district_admin)
    book(make_member(citizen, 2), today_session)
    few = {url: _page_queries(client, url) for url in (SESSIONS, TODAY_PAGE)}

    for facility in Facility.objects.filter(code__in=["TS-F1", "TS-F2"]):
        for _ in range(3):
            session = make_day_session(facility)
            if facility.code == "TS-F1":
                issue(session, batch, 1)
    more = {url: _page_queries(client, url) for url in (SESSIONS, TODAY_PAGE)}

    assert Session.objects.filter(date=TODAY).count() == 7
    assert more == few


# Today's progress


def test_it_totals_today_with_wastage_doses_by_dose_and_a_facility_table(
    state_admin: User,
    verifier: User,
    vaccinator: User,
    booked: Appointment,
    batch: Batch,
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    session_stock_close(by=vaccinator, session=booked.session, now=NOW)
    make_day_session(Facility.objects.get(code="TS-F2"))

    state = reverse("manage:today", kwargs={"region": "TS-N"})
    page = signed_in(state_admin).get(state)

    progress = page.context["progress"]
    assert progress.stages == {"planned": 1, "running": 1, "closed": 0, "cancelled": 0}
    assert progress.totals["vaccinated"] == 1
    assert progress.totals["open_vial_wastage"] == 19  # two 10-dose vials, one dose given
    assert progress.doses == [{"vaccine__code": "COVISHIELD", "dose_number": 1, "doses": 1}]
    assert [row["facility"].code for row in progress.facilities] == ["TS-F1", "TS-F2"]
    assert 'hx-trigger="every 60s"' in page.text and "<html" in page.text

    partial = signed_in(state_admin).get(state, headers=HTMX)
    assert 'hx-trigger="every 60s"' in partial.text and "<html" not in partial.text


def test_it_shows_a_manager_today_at_their_facility_only(
    manager: User, today_session: Session
) -> None:
    make_day_session(Facility.objects.get(code="TS-F2"))
    page = signed_in(manager).get(reverse("manage:today", kwargs={"facility": "TS-F1"}))
    assert [row["facility"].code for row in page.context["progress"].facilities] == ["TS-F1"]


# Open AEFIs


def test_it_lists_open_aefis_serious_first_and_leaves_out_closed_and_elsewhere(
    district_admin: User, asha: Beneficiary, hill_phc: Facility, sea_hospital: Facility
) -> None:
    minor = _aefi(asha, hill_phc, Aefi.Severity.MINOR, reported_at=NOW - timedelta(minutes=5))
    serious = _aefi(asha, hill_phc, Aefi.Severity.SERIOUS)
    _aefi(asha, hill_phc, Aefi.Severity.SERIOUS, status=Aefi.Status.CLOSED)
    _aefi(asha, sea_hospital, Aefi.Severity.SERIOUS)

    page = signed_in(district_admin).get(AEFI)

    assert page.status_code == 200
    assert [(row[0].pk, row[1]) for row in page.context["rows"]] == [
        (serious.pk, 2026 - 1980),
        (minor.pk, 2026 - 1980),
    ]
    assert "Serious" in page.text and "Hill Town" in page.text
    assert "<caption>" in page.text


def test_it_reads_the_aefis_in_a_constant_number_of_queries(
    district_admin: User, asha: Beneficiary, hill_phc: Facility
) -> None:
    client = signed_in(district_admin)
    _aefi(asha, hill_phc, Aefi.Severity.MINOR)
    few = _page_queries(client, AEFI)
    for _ in range(4):
        _aefi(asha, hill_phc, Aefi.Severity.SEVERE)
    assert _page_queries(client, AEFI) == few
