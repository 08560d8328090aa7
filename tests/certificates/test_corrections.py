"""Corrections of personal details: asked for with a reason, decided once, audited, told by SMS."""

import json
import threading
from datetime import date

import pytest
from django.db import connection

from vaxnet.booking.models import Session
from vaxnet.certificates.corrections import (
    correction_decide,
    correction_request,
    correction_withdraw,
    corrections_for_staff,
)
from vaxnet.certificates.models import Certificate, CorrectionRequest
from vaxnet.certificates.queries import certificate_record
from vaxnet.core.access import correction_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Role, StaffMembership
from vaxnet.geo.models import Region
from vaxnet.notifications.models import Message
from vaxnet.people.crypto import id_number_hash
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.corrections import vaccination_mark_in_error
from vaxnet.vaccination.models import Vaccination

from ..booking.test_appointments import make_account, make_member
from ..vaccination.day import aadhaar
from .conftest import give_dose

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def dosed(asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User) -> Vaccination:
    return give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)


def _ask(person: Beneficiary, field: str, value: str, **kwargs: str) -> CorrectionRequest:
    assert person.account is not None
    kwargs.setdefault("reason", "Misspelt at registration")
    return correction_request(
        account=person.account,
        beneficiary=person,
        field=field,
        value=value,
        **kwargs,
    )


def _refusal(person: Beneficiary, field: str, value: str, **kwargs: str) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as refused:
        _ask(person, field, value, **kwargs)
    return refused.value.code, refused.value.field


def _events(action: str) -> list[dict]:
    return [e.data for e in AuditEvent.objects.filter(action=action).order_by("id")]


def _certificates(person: Beneficiary) -> list[tuple[int, str, str]]:
    return [
        (c.version, c.status, c.revoked_for)
        for c in Certificate.objects.filter(beneficiary=person).order_by("version")
    ]


def test_it_approves_a_name_and_reissues_with_the_new_name_and_an_sms_in_hindi(
    asha: Beneficiary, dosed: Vaccination, district_admin: User, citizen: Account
) -> None:
    asked = _ask(asha, "name", "  Asha   Devi ", reason="  Surname left out  ")

    assert (asked.current_value, asked.requested_value, asked.reason, asked.status) == (
        "Asha",
        "Asha Devi",
        "Surname left out",
        "pending",
    )
    assert _events("correction.request") == [{"reference": asha.reference, "field": "name"}]

    decided = correction_decide(by=district_admin, request=asked, approve=True, note="")

    assert (decided.status, decided.decided_by, decided.decision_note) == (
        "approved",
        district_admin,
        "",
    )
    asha.refresh_from_db()
    assert asha.name == "Asha Devi"
    assert _certificates(asha) == [(1, "revoked", "correction"), (2, "valid", "")]
    new = Certificate.objects.get(beneficiary=asha, status="valid")
    assert certificate_record(new).name == "Asha Devi"
    (sms,) = Message.objects.filter(template="correction_approved")
    assert (sms.recipient, sms.language, sms.dedupe_key) == (
        citizen.phone,
        "hi",
        f"correction_approved:{asked.public_id}",
    )
    assert sms.context == {"name": "Asha Devi", "detail": sms.context["detail"]}
    assert "Asha Devi" in sms.body
    assert _events("correction.approve") == [{"reference": asha.reference, "field": "name"}]
    assert _events("certificate.revoke") == [{"reason": "correction"}]


def test_it_corrects_the_date_of_birth_and_the_year_follows(
    asha: Beneficiary, dosed: Vaccination, district_admin: User
) -> None:
    asked = _ask(asha, "birth_date", "1990-05-17")
    assert (asked.current_value, asked.requested_value) == ("1980", "1990-05-17")

    correction_decide(by=district_admin, request=asked, approve=True, note="Seen the card")

    asha.refresh_from_db()
    assert (asha.birth_year, asha.birth_date) == (1990, date(1990, 5, 17))
    record = certificate_record(Certificate.objects.get(beneficiary=asha, status="valid"))
    assert record.birth_date == "1990-05-17"


def test_a_year_alone_corrects_the_year_and_clears_the_date(
    asha: Beneficiary, dosed: Vaccination, district_admin: User
) -> None:
    asked = _ask(asha, "birth_date", "1979")
    correction_decide(by=district_admin, request=asked, approve=True, note="")
    asha.refresh_from_db()
    assert (asha.birth_year, asha.birth_date) == (1979, None)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2026-03-03", "birth_date_future"),  # the day after the test day
        ("1899-12-31", "birth_year_range"),
        ("1899", "birth_year_range"),
        ("17/05/1990", "birth_date_invalid"),
        ("1990-5-7", "birth_date_invalid"),
        ("", "birth_date_invalid"),
        ("1980", "correction_unchanged"),
    ],
)
def test_it_refuses_a_date_of_birth_registration_would_refuse(
    asha: Beneficiary, dosed: Vaccination, value: str, code: str
) -> None:
    assert _refusal(asha, "birth_date", value)[0] == code
    assert not CorrectionRequest.objects.exists()


def test_it_corrects_the_sex(asha: Beneficiary, dosed: Vaccination, state_admin: User) -> None:
    assert _refusal(asha, "sex", "unknown") == ("sex_invalid", "value")
    assert _refusal(asha, "sex", "female") == ("correction_unchanged", "value")
    asked = _ask(asha, "sex", "male")
    assert (asked.current_value, asked.requested_value) == ("female", "male")

    correction_decide(by=state_admin, request=asked, approve=True, note="")

    asha.refresh_from_db()
    assert asha.sex == "male"
    record = certificate_record(Certificate.objects.get(beneficiary=asha, status="valid"))
    assert record.sex == "male"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "name_required"),
        ("   ", "name_required"),
        ("x" * 101, "name_too_long"),
        ("Asha", "correction_unchanged"),
    ],
)
def test_it_refuses_a_name_registration_would_refuse(
    asha: Beneficiary, dosed: Vaccination, value: str, code: str
) -> None:
    assert _refusal(asha, "name", value)[0] == code


def test_it_corrects_the_id_document_keeping_only_a_hash_and_the_last_four(
    asha: Beneficiary, dosed: Vaccination, district_admin: User
) -> None:
    asked = _ask(asha, "id_document", " a1234567 ", id_type="passport")

    expected_hash = id_number_hash(country_code="TEST", id_type_code="passport", number="A1234567")
    assert (asked.current_value, asked.requested_value) == (
        asha.masked_id(),
        "XXXX XXXX 4567",
    )
    assert (asked.requested_id_type, asked.requested_id_hash) == ("passport", expected_hash)

    correction_decide(by=district_admin, request=asked, approve=True, note="")

    asha.refresh_from_db()
    assert (asha.id_type.code, asha.id_hash, asha.id_last4) == ("passport", expected_hash, "4567")
    record = certificate_record(Certificate.objects.get(beneficiary=asha, status="valid"))
    assert record.masked_id == "XXXX XXXX 4567"
    # The number is in no audit event and nowhere on the request.
    kept = json.dumps([e.data for e in AuditEvent.objects.all()])
    kept += json.dumps(list(CorrectionRequest.objects.values()), default=str)
    assert "1234567" not in kept
    assert _events("correction.approve") == [{"reference": asha.reference, "field": "id_document"}]


def test_it_refuses_an_id_number_that_breaks_the_rules_or_is_someone_elses(
    asha: Beneficiary, dosed: Vaccination, country: object
) -> None:
    other = make_member(make_account(country, "+919822222222"), 2)  # type: ignore[arg-type]
    same_account = make_member(asha.account, 3)  # type: ignore[arg-type]
    wrong_check = aadhaar(5)[:-1] + str((int(aadhaar(5)[-1]) + 1) % 10)

    assert _refusal(asha, "id_document", "12345") == ("id_number_format", "id_number")
    assert _refusal(asha, "id_document", wrong_check) == ("id_number_check", "id_number")
    assert _refusal(asha, "id_document", "A1234567", id_type="licence")[0] == "id_type_unknown"
    assert _refusal(asha, "id_document", aadhaar(2))[0] == "id_taken"
    assert _refusal(asha, "id_document", aadhaar(3))[0] == "id_duplicate"
    assert _refusal(asha, "id_document", aadhaar(1))[0] == "correction_unchanged"
    assert other.pk and same_account.pk
    assert not CorrectionRequest.objects.exists()


def test_an_id_registered_by_someone_else_meanwhile_cannot_be_approved(
    asha: Beneficiary, dosed: Vaccination, district_admin: User, country: object
) -> None:
    asked = _ask(asha, "id_document", aadhaar(7))
    make_member(make_account(country, "+919822222222"), 7)  # type: ignore[arg-type]

    with pytest.raises(DomainError) as refused:
        correction_decide(by=district_admin, request=asked, approve=True, note="")

    assert refused.value.code == "id_taken"
    asked.refresh_from_db()
    assert asked.status == "pending"  # nothing half done: the admin rejects it instead
    asha.refresh_from_db()
    assert asha.id_last4 == aadhaar(1)[-4:]
    assert _certificates(asha) == [(1, "valid", "")]


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "reason_required"), (" \n ", "reason_required"), ("x" * 501, "reason_too_long")],
)
def test_it_needs_a_reason_of_at_most_500_characters(
    asha: Beneficiary, dosed: Vaccination, reason: str, code: str
) -> None:
    assert _refusal(asha, "name", "Asha Devi", reason=reason) == (code, "reason")


def test_a_reason_of_500_characters_is_kept(asha: Beneficiary, dosed: Vaccination) -> None:
    assert len(_ask(asha, "name", "Asha Devi", reason="y" * 500).reason) == 500


def test_it_refuses_an_unknown_field_and_a_person_without_a_dose(
    asha: Beneficiary, dosed: Vaccination, citizen: Account
) -> None:
    assert _refusal(asha, "address", "x")[0] == "correction_field"
    newcomer = make_member(citizen, 4)
    assert _refusal(newcomer, "name", "New Name")[0] == "correction_not_needed"


def test_it_refuses_another_accounts_member(
    asha: Beneficiary, dosed: Vaccination, country: object
) -> None:
    stranger = make_account(country, "+919822222222")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        correction_request(
            account=stranger, beneficiary=asha, field="name", value="X", reason="mine"
        )


def test_one_request_waits_per_person_and_detail(
    asha: Beneficiary, dosed: Vaccination, citizen: Account
) -> None:
    first = _ask(asha, "name", "Asha Devi")
    assert _refusal(asha, "name", "Asha D")[0] == "correction_pending"
    _ask(asha, "sex", "male")  # another detail may wait alongside

    withdrawn = correction_withdraw(account=citizen, request=first)

    assert withdrawn.status == "withdrawn"
    assert _events("correction.withdraw") == [{"reference": asha.reference, "field": "name"}]
    assert _ask(asha, "name", "Asha D").status == "pending"
    with pytest.raises(DomainError) as refused:
        correction_withdraw(account=citizen, request=first)
    assert refused.value.code == "correction_decided"


def test_a_rejection_keeps_the_data_needs_a_note_and_tells_the_citizen(
    asha: Beneficiary, dosed: Vaccination, district_admin: User, citizen: Account
) -> None:
    asked = _ask(asha, "name", "Asha Devi")
    with pytest.raises(DomainError) as refused:
        correction_decide(by=district_admin, request=asked, approve=False, note="  ")
    assert refused.value.code == "note_required"
    with pytest.raises(DomainError) as refused:
        correction_decide(by=district_admin, request=asked, approve=False, note="n" * 501)
    assert refused.value.code == "note_too_long"

    decided = correction_decide(
        by=district_admin, request=asked, approve=False, note=" The card says Asha. "
    )

    assert (decided.status, decided.decision_note) == ("rejected", "The card says Asha.")
    asha.refresh_from_db()
    assert asha.name == "Asha"
    assert _certificates(asha) == [(1, "valid", "")]
    (sms,) = Message.objects.all().filter(template__startswith="correction")
    assert (sms.template, sms.recipient, sms.language) == (
        "correction_rejected",
        citizen.phone,
        "hi",
    )
    assert _events("correction.reject") == [{"reference": asha.reference, "field": "name"}]
    with pytest.raises(DomainError) as refused:
        correction_decide(by=district_admin, request=asked, approve=True, note="")
    assert refused.value.code == "correction_decided"
    with pytest.raises(DomainError) as refused:
        correction_withdraw(account=citizen, request=asked)
    assert refused.value.code == "correction_decided"


def test_the_sms_goes_in_english_to_an_english_account(
    asha: Beneficiary, dosed: Vaccination, district_admin: User, citizen: Account
) -> None:
    Account.objects.filter(pk=citizen.pk).update(language="en")
    asked = _ask(asha, "birth_date", "1990-05-17")
    correction_decide(by=district_admin, request=asked, approve=True, note="")
    sms = Message.objects.get(template="correction_approved")
    assert sms.language == "en"
    assert sms.body == (
        "The correction of the date of birth of Asha is approved. "
        "Download the new certificate from your account."
    )


def _admin(username: str, role: str, region: str) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery staple")
    StaffMembership.objects.create(user=user, role=role, region=Region.objects.get(code=region))
    return user


def test_admins_decide_for_people_vaccinated_in_their_region(
    asha: Beneficiary,
    dosed: Vaccination,
    district_admin: User,
    state_admin: User,
    national_admin: User,
    manager: User,
    outsider: User,
    vaccinator: User,
) -> None:
    asked = _ask(asha, "name", "Asha Devi")
    river = _admin("river_admin", Role.DISTRICT_ADMIN, "TS-N-RIV")
    south = _admin("south_admin", Role.STATE_ADMIN, "TS-S")

    for admin in (district_admin, state_admin, national_admin):
        assert correction_for_staff(admin, asked.public_id) == asked
        assert corrections_for_staff(admin) == [asked]
    for other in (river, south, manager, outsider):
        with pytest.raises(NotFound):
            correction_for_staff(other, asked.public_id)
        assert corrections_for_staff(other) == []
    with pytest.raises(NotFound):
        correction_for_staff(district_admin, "nosuchid")
    reads = _events("beneficiary.read")
    assert reads[0] == {"reference": asha.reference, "correction": asked.public_id}

    # Every dose entered in error: only national administrators still see the request.
    vaccination_mark_in_error(by=vaccinator, vaccination=dosed, reason="wrong person")
    with pytest.raises(NotFound):
        correction_for_staff(district_admin, asked.public_id)
    assert correction_for_staff(national_admin, asked.public_id) == asked
    assert corrections_for_staff(national_admin, "approved") == []


def _race(work: list, count: int) -> tuple[list, list[BaseException]]:
    results: list = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(job: object) -> None:
        try:
            barrier.wait()
            results.append(job())  # type: ignore[operator]
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_two_admins_deciding_at_once_one_wins(
    asha: Beneficiary, dosed: Vaccination, district_admin: User, state_admin: User
) -> None:
    asked = _ask(asha, "name", "Asha Devi")
    jobs = [
        lambda: correction_decide(by=district_admin, request=asked, approve=True, note=""),
        lambda: correction_decide(by=state_admin, request=asked, approve=False, note="no"),
        lambda: correction_decide(by=state_admin, request=asked, approve=True, note=""),
    ]

    results, errors = _race(jobs, len(jobs))

    assert len(results) == 1
    assert [getattr(e, "code", repr(e)) for e in errors] == ["correction_decided"] * 2
    asked.refresh_from_db()
    assert asked.status == results[0].status
    corrections = Message.objects.filter(template__startswith="correction").count()
    assert corrections == 1
    if asked.status == "approved":
        assert _certificates(asha) == [(1, "revoked", "correction"), (2, "valid", "")]
    else:
        assert _certificates(asha) == [(1, "valid", "")]


@pytest.mark.django_db(transaction=True)
def test_requests_sent_at_once_leave_one_waiting(asha: Beneficiary, dosed: Vaccination) -> None:
    jobs = [lambda value=value: _ask(asha, "name", value) for value in ("A B", "A C", "A D")]

    results, errors = _race(jobs, len(jobs))

    assert len(results) == 1
    assert [getattr(e, "code", repr(e)) for e in errors] == ["correction_pending"] * 2
    assert CorrectionRequest.objects.filter(beneficiary=asha, status="pending").count() == 1
