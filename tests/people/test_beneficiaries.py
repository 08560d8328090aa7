"""Beneficiaries: up to the pack's limit per account, one per ID document in the country."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db.models import ProtectedError
from django.test import override_settings

from vaxnet.core.checksums import verhoeff_digit, verhoeff_valid
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import AuditEvent
from vaxnet.countries.models import Country
from vaxnet.people.crypto import id_number_hash
from vaxnet.people.models import Account, Beneficiary, Sex
from vaxnet.people.services import beneficiary_add, beneficiary_remove, beneficiary_update
from vaxnet.vaccines.eligibility import Person

from .conftest import aadhaar

pytestmark = pytest.mark.django_db

TAKEN = "This ID document is already registered. If it is yours, contact the helpline."


def _add(account: Account, **overrides: object) -> Beneficiary:
    fields: dict[str, object] = {
        "name": "Asha Devi",
        "sex": Sex.FEMALE,
        "birth_year": 1961,
        "id_type_code": "aadhaar",
        "id_number": aadhaar(1),
    }
    fields.update(overrides)
    return beneficiary_add(account=account, **fields)  # type: ignore[arg-type]


def _refusal(account: Account, **overrides: object) -> DomainError:
    with pytest.raises(DomainError) as info:
        _add(account, **overrides)
    return info.value


def test_it_registers_a_person_with_a_reference_number_ending_in_a_check_digit(
    citizen: Account,
) -> None:
    first = _add(citizen, name="  Asha   Devi ")
    second = _add(citizen, name="Ravi", sex=Sex.MALE, birth_year=1990, id_number=aadhaar(2))

    assert first.name == "Asha Devi"
    assert first.country == citizen.country
    for beneficiary in (first, second):
        assert len(beneficiary.reference) == 14
        assert beneficiary.reference[0] != "0"
        assert verhoeff_valid(beneficiary.reference)
    assert abs(int(first.reference) - int(second.reference)) > 1000
    event = AuditEvent.objects.get(action="beneficiary.add", object_id=str(first.pk))
    assert event.data == {"reference": first.reference, "id_type": "aadhaar"}


def test_it_stores_a_keyed_hash_and_the_last_4_characters_never_the_number(
    citizen: Account,
) -> None:
    number = aadhaar(1)

    beneficiary = _add(citizen, id_number=f"{number[:4]} {number[4:8]} {number[8:]}")

    assert beneficiary.id_last4 == number[-4:]
    assert len(beneficiary.id_hash) == 64
    assert number not in beneficiary.id_hash
    assert beneficiary.id_hash == id_number_hash(
        country_code="TEST", id_type_code="aadhaar", number=number
    )
    stored = Beneficiary.objects.filter(pk=beneficiary.pk).values()[0]
    assert not any(number in str(value) for value in stored.values())
    assert not any(number in str(event.data) for event in AuditEvent.objects.all())


def test_it_hashes_the_same_number_differently_under_another_id_type_or_key() -> None:
    aadhaar_hash = id_number_hash(country_code="TEST", id_type_code="aadhaar", number="A1234567")
    passport_hash = id_number_hash(country_code="TEST", id_type_code="passport", number="A1234567")
    with override_settings(ID_HASH_KEY="another-key"):
        other_key = id_number_hash(country_code="TEST", id_type_code="passport", number="A1234567")

    assert len({aadhaar_hash, passport_hash, other_key}) == 3


def test_it_shows_only_the_last_4_characters_of_the_id(citizen: Account) -> None:
    number = aadhaar(7)

    masked = _add(citizen, id_number=number).masked_id()

    assert masked == f"XXXX XXXX {number[-4:]}"
    assert number[:8] not in masked.replace(" ", "")


def test_it_gives_the_eligibility_engine_the_birth_details(citizen: Account) -> None:
    beneficiary = _add(citizen, birth_year=2024, birth_date=date(2024, 5, 17))

    assert beneficiary.person() == Person(birth_date=date(2024, 5, 17), birth_year=2024)
    assert beneficiary.has_doses() is False


def test_it_registers_a_passport_typed_in_lower_case(citizen: Account) -> None:
    beneficiary = _add(citizen, id_type_code="passport", id_number=" k 1234567 ")

    assert beneficiary.id_type.code == "passport"
    assert beneficiary.id_last4 == "4567"
    assert _refusal(citizen, id_type_code="passport", id_number="K1234567").code == "id_duplicate"


def test_it_refuses_an_aadhaar_with_a_wrong_check_digit(citizen: Account) -> None:
    body = "23456789012"
    wrong = body + str((int(verhoeff_digit(body)) + 1) % 10)

    error = _refusal(citizen, id_number=wrong)

    assert error.code == "id_number_check"
    assert error.field == "id_number"
    assert not Beneficiary.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"id_number": "1234"}, "id_number_format", "id_number"),
        ({"id_type_code": "passport", "id_number": "12345678"}, "id_number_format", "id_number"),
        ({"id_type_code": "driving_licence"}, "id_type_unknown", "id_type"),
        ({"name": "   "}, "name_required", "name"),
        ({"name": "A" * 101}, "name_too_long", "name"),
        ({"sex": "unknown"}, "sex_invalid", "sex"),
        ({"birth_year": 1899}, "birth_year_range", "birth_year"),
        ({"birth_year": 2031}, "birth_year_range", "birth_year"),
        ({"birth_year": True}, "birth_year_range", "birth_year"),
        ({"birth_date": date(1960, 1, 1)}, "birth_date_mismatch", "birth_date"),
        ({"birth_year": 2030, "birth_date": date(2030, 12, 1)}, "birth_date_future", "birth_date"),
    ],
)
def test_it_refuses_details_that_cannot_be_right(
    citizen: Account, overrides: dict[str, object], code: str, field: str
) -> None:
    with time_machine.travel(datetime(2030, 6, 15, 12, tzinfo=UTC), tick=False):
        error = _refusal(citizen, **overrides)

    assert (error.code, error.field) == (code, field)
    assert not Beneficiary.objects.exists()


def test_it_accepts_a_birth_year_of_this_year(citizen: Account) -> None:
    with time_machine.travel(datetime(2030, 6, 15, 12, tzinfo=UTC), tick=False):
        beneficiary = _add(citizen, birth_year=2030, birth_date=date(2030, 6, 1))

    assert beneficiary.birth_year == 2030


def test_it_registers_at_most_the_packs_limit_per_account(citizen: Account) -> None:
    for seed in range(4):
        _add(citizen, id_number=aadhaar(seed))

    error = _refusal(citizen, id_number=aadhaar(4))

    assert citizen.country.setting("booking", "beneficiaries_per_account") == 4
    assert error.code == "beneficiary_limit"
    assert "4" in str(error.message)
    assert citizen.beneficiaries.count() == 4


def test_it_refuses_an_id_registered_on_another_account_without_saying_whose(
    citizen: Account, neighbour: Account
) -> None:
    mine = _add(citizen, id_number=aadhaar(1))

    error = _refusal(neighbour, name="Someone Else", id_number=aadhaar(1))

    assert error.code == "id_taken"
    assert str(error.message) == TAKEN
    for secret in (mine.name, mine.reference, citizen.phone, citizen.phone[-4:]):
        assert secret not in str(error.message)
    assert not neighbour.beneficiaries.exists()


def test_it_refuses_the_same_id_twice_on_one_account(citizen: Account) -> None:
    _add(citizen, id_number=aadhaar(1))

    error = _refusal(citizen, name="Asha D.", id_number=aadhaar(1))

    assert error.code == "id_duplicate"
    assert citizen.beneficiaries.count() == 1


def test_it_lets_the_same_number_be_registered_under_another_id_type(
    citizen: Account, country: Country
) -> None:
    first = _add(citizen, id_type_code="passport", id_number="K1234567")
    passport = country.id_types.get(code="passport")

    assert first.id_type == passport
    assert first.id_hash != id_number_hash(
        country_code="TEST", id_type_code="aadhaar", number="K1234567"
    )


def test_it_corrects_a_persons_details(citizen: Account) -> None:
    beneficiary = _add(citizen, birth_year=1961, birth_date=date(1961, 2, 3))

    updated = beneficiary_update(
        account=citizen,
        beneficiary=beneficiary,
        name=" Asha  Kumari ",
        birth_year=1962,
        birth_date=date(1962, 2, 3),
    )

    assert (updated.name, updated.birth_year, updated.birth_date) == (
        "Asha Kumari",
        1962,
        date(1962, 2, 3),
    )
    assert updated.reference == beneficiary.reference
    event = AuditEvent.objects.get(action="beneficiary.update", object_id=str(beneficiary.pk))
    assert event.data["fields"] == ["name", "birth_year", "birth_date"]


def test_it_clears_a_date_of_birth_only_when_asked(citizen: Account) -> None:
    beneficiary = _add(citizen, birth_year=1961, birth_date=date(1961, 2, 3))

    kept = beneficiary_update(account=citizen, beneficiary=beneficiary, sex=Sex.OTHER)
    cleared = beneficiary_update(account=citizen, beneficiary=beneficiary, birth_date=None)

    assert kept.birth_date == date(1961, 2, 3)
    assert kept.sex == Sex.OTHER
    assert cleared.birth_date is None


def test_it_checks_corrections_like_new_registrations(citizen: Account) -> None:
    beneficiary = _add(citizen, birth_year=1961, birth_date=date(1961, 2, 3))

    with pytest.raises(DomainError) as info:
        beneficiary_update(account=citizen, beneficiary=beneficiary, birth_year=1970)

    assert info.value.code == "birth_date_mismatch"
    beneficiary.refresh_from_db()
    assert beneficiary.birth_year == 1961


def test_it_records_nothing_when_nothing_changes(citizen: Account) -> None:
    beneficiary = _add(citizen)

    beneficiary_update(account=citizen, beneficiary=beneficiary, name="Asha Devi")

    assert not AuditEvent.objects.filter(action="beneficiary.update").exists()


def test_it_changes_the_id_document(citizen: Account) -> None:
    beneficiary = _add(citizen, id_number=aadhaar(1))

    updated = beneficiary_update(
        account=citizen, beneficiary=beneficiary, id_type_code="passport", id_number="K7654321"
    )

    assert updated.id_type.code == "passport"
    assert updated.id_last4 == "4321"
    assert updated.masked_id() == "XXXX XXXX 4321"
    # The old document is free again.
    assert _add(citizen, name="Other", id_number=aadhaar(1)).id_last4 == aadhaar(1)[-4:]


def test_it_needs_the_number_to_change_the_id_type(citizen: Account) -> None:
    beneficiary = _add(citizen)

    with pytest.raises(DomainError) as info:
        beneficiary_update(account=citizen, beneficiary=beneficiary, id_type_code="passport")

    assert info.value.code == "id_number_required"


def test_it_refuses_a_correction_to_an_id_registered_elsewhere(
    citizen: Account, neighbour: Account
) -> None:
    _add(neighbour, id_number=aadhaar(9))
    mine = _add(citizen, id_number=aadhaar(1))
    sibling = _add(citizen, name="Ravi", id_number=aadhaar(2))

    with pytest.raises(DomainError) as taken:
        beneficiary_update(account=citizen, beneficiary=mine, id_number=aadhaar(9))
    with pytest.raises(DomainError) as duplicate:
        beneficiary_update(account=citizen, beneficiary=sibling, id_number=aadhaar(1))

    assert (taken.value.code, str(taken.value.message)) == ("id_taken", TAKEN)
    assert duplicate.value.code == "id_duplicate"


def test_it_removes_a_person_and_frees_the_id(citizen: Account, neighbour: Account) -> None:
    beneficiary = _add(citizen, id_number=aadhaar(1))

    beneficiary_remove(account=citizen, beneficiary=beneficiary)
    again = _add(neighbour, id_number=aadhaar(1))

    assert not Beneficiary.objects.filter(pk=beneficiary.pk).exists()
    assert again.account == neighbour
    assert AuditEvent.objects.filter(
        action="beneficiary.remove", data__reference=beneficiary.reference
    ).exists()


def test_it_refuses_to_remove_a_person_with_appointments(
    citizen: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    beneficiary = _add(citizen)

    def protected(self: Beneficiary) -> None:
        raise ProtectedError("appointments on record", set())

    monkeypatch.setattr(Beneficiary, "delete", protected)
    with pytest.raises(DomainError) as info:
        beneficiary_remove(account=citizen, beneficiary=beneficiary)

    assert info.value.code == "has_appointments"
    assert "Asha Devi" in str(info.value.message)
    assert Beneficiary.objects.filter(pk=beneficiary.pk).exists()
    assert not AuditEvent.objects.filter(action="beneficiary.remove").exists()


def test_it_locks_a_person_after_the_first_dose(
    citizen: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    beneficiary = _add(citizen)
    monkeypatch.setattr(Beneficiary, "has_doses", lambda self: True)

    with pytest.raises(DomainError) as update:
        beneficiary_update(account=citizen, beneficiary=beneficiary, name="Changed")
    with pytest.raises(DomainError) as remove:
        beneficiary_remove(account=citizen, beneficiary=beneficiary)

    assert update.value.code == remove.value.code == "locked_after_dose"
    beneficiary.refresh_from_db()
    assert beneficiary.name == "Asha Devi"


def test_it_refuses_to_touch_another_accounts_person(citizen: Account, neighbour: Account) -> None:
    beneficiary = _add(citizen)

    with pytest.raises(NotFound):
        beneficiary_update(account=neighbour, beneficiary=beneficiary, name="Mine now")
    with pytest.raises(NotFound):
        beneficiary_remove(account=neighbour, beneficiary=beneficiary)

    assert Beneficiary.objects.get(pk=beneficiary.pk).name == "Asha Devi"
