"""An account reaches only its own beneficiaries; missing and not-yours look the same."""

import pytest

from vaxnet.core.errors import NotFound
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account, Beneficiary, Sex
from vaxnet.people.services import beneficiary_add

from .conftest import aadhaar

pytestmark = pytest.mark.django_db


@pytest.fixture
def ashas(citizen: Account) -> Beneficiary:
    return beneficiary_add(
        account=citizen,
        name="Asha Devi",
        sex=Sex.FEMALE,
        birth_year=1961,
        id_type_code="aadhaar",
        id_number=aadhaar(1),
    )


def _not_found(account: Account, reference: str) -> NotFound:
    with pytest.raises(NotFound) as info:
        beneficiary_for_account(account, reference)
    return info.value


def test_it_gives_an_account_its_own_beneficiary(citizen: Account, ashas: Beneficiary) -> None:
    assert beneficiary_for_account(citizen, ashas.reference) == ashas
    assert beneficiary_for_account(citizen, f" {ashas.reference} ") == ashas


def test_it_answers_not_yours_exactly_like_missing(neighbour: Account, ashas: Beneficiary) -> None:
    missing = "1" * 13 + "0" if ashas.reference != "1" * 13 + "0" else "2" * 14

    not_yours = _not_found(neighbour, ashas.reference)
    absent = _not_found(neighbour, missing)

    assert (not_yours.code, not_yours.status, str(not_yours.message)) == (
        absent.code,
        absent.status,
        str(absent.message),
    )
    assert not_yours.status == 404


@pytest.mark.parametrize("reference", ["", "abc", "123", "1" * 15, "1" * 13 + "x"])
def test_it_answers_not_found_to_malformed_references(
    citizen: Account, ashas: Beneficiary, reference: str
) -> None:
    _not_found(citizen, reference)


def test_it_answers_not_found_to_a_closed_account(citizen: Account, ashas: Beneficiary) -> None:
    Account.objects.filter(pk=citizen.pk).update(active=False)
    citizen.refresh_from_db()

    _not_found(citizen, ashas.reference)
