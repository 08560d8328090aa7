"""The records pages: a person's doses, marking and correcting a record, merging duplicates."""

import pytest

from vaxnet.booking.models import Appointment
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.models import BeneficiaryMerge, Vaccination

from ..stock.ledger_helpers import signed_in
from .day import check_in, record
from .test_corrections import person, vaccinated

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def given(booked: Appointment, verifier: User, vaccinator: User, batch: Batch) -> Vaccination:
    check_in(booked, verifier, 1)
    return record(booked, vaccinator, batch)


def test_home_shows_the_history_with_records_in_error_struck_through(
    given: Vaccination, manager: User, outsider: User
) -> None:
    from vaxnet.vaccination.corrections import vaccination_mark_in_error

    vaccination_mark_in_error(by=manager, vaccination=given, reason="typed twice")
    reference = given.beneficiary.reference
    page = signed_in(manager).get("/staff/records/", {"reference": reference})
    assert page.status_code == 200
    assert b"<del>" in page.content and b"typed twice" in page.content
    partial = signed_in(manager).get(
        "/staff/records/", {"reference": reference}, HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in partial.content
    assert signed_in(outsider).get("/staff/records/", {"reference": reference}).status_code == 404


def test_a_manager_marks_and_corrects_a_record_and_a_vaccinator_cannot(
    given: Vaccination, manager: User, vaccinator: User
) -> None:
    url = f"/staff/records/vaccinations/{given.public_id}/"
    assert signed_in(vaccinator).get(url).status_code == 404
    client = signed_in(manager)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"action": "correct", "reason": "", "site": "right_arm"})
    assert refused.status_code == 422
    answer = client.post(url, {"action": "correct", "reason": "other arm", "site": "right_arm"})
    assert answer.status_code == 302
    new = Vaccination.objects.get(replaces=given)
    assert new.site == "right_arm"
    answer = client.post(
        f"/staff/records/vaccinations/{new.public_id}/", {"action": "mark", "reason": "not given"}
    )
    assert answer.status_code == 302
    new.refresh_from_db()
    assert not new.is_valid()


def test_a_district_admin_merges_after_a_preview_and_undoes(
    asha: Beneficiary,
    country: object,
    today_session: object,
    verifier: User,
    vaccinator: User,
    district_admin: User,
    manager: User,
    batch: Batch,
) -> None:
    twin = person(country, 2)
    vaccinated(twin, 2, today_session, verifier, vaccinator, batch)  # type: ignore[arg-type]
    from .day import book

    book(asha, today_session)  # type: ignore[arg-type]
    refs = {"kept": asha.reference, "merged": twin.reference}
    assert signed_in(manager).get("/staff/records/merge/", refs).status_code == 404
    client = signed_in(district_admin)
    preview = client.get("/staff/records/merge/", refs)
    assert preview.status_code == 200 and twin.reference.encode() in preview.content
    assert client.post("/staff/records/merge/", {**refs, "reason": ""}).status_code == 422
    assert client.post("/staff/records/merge/", {**refs, "reason": "same"}).status_code == 302
    merge = BeneficiaryMerge.objects.get()
    undo = f"/staff/records/merges/{merge.pk}/undo/"
    assert client.get(undo).status_code == 200
    assert client.post(undo, {"reason": "not the same"}).status_code == 302
    twin.refresh_from_db()
    assert twin.merged_into is None
