"""Identity document numbers are checked by the pack's rules before anything is stored."""

import pytest
from django.utils import translation

from vaxnet.core.checksums import luhn_valid, verhoeff_digit, verhoeff_valid
from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country, IdDocumentType

pytestmark = pytest.mark.django_db


@pytest.fixture
def aadhaar(country: Country) -> IdDocumentType:
    return country.id_types.get(code="aadhaar")


def test_it_computes_and_checks_verhoeff_digits() -> None:
    # Published example: 236 takes the check digit 3.
    assert verhoeff_digit("236") == "3"
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")


def test_it_catches_every_single_digit_error_and_neighbour_swap() -> None:
    body = "23456789012"
    number = body + verhoeff_digit(body)
    for position in range(len(number)):
        for digit in "0123456789":
            if digit != number[position]:
                changed = number[:position] + digit + number[position + 1 :]
                assert not verhoeff_valid(changed), changed
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a != b:
            swapped = number[:position] + b + a + number[position + 2 :]
            assert not verhoeff_valid(swapped), swapped


def test_it_checks_luhn_digits() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_it_accepts_a_valid_aadhaar_written_with_spaces(aadhaar: IdDocumentType) -> None:
    number = "23456789012" + verhoeff_digit("23456789012")
    spaced = f"{number[:4]} {number[4:8]}-{number[8:]}"

    assert aadhaar.validate(spaced) == number


def test_it_refuses_an_aadhaar_with_a_wrong_check_digit(aadhaar: IdDocumentType) -> None:
    number = "23456789012" + str((int(verhoeff_digit("23456789012")) + 1) % 10)

    with pytest.raises(DomainError) as info:
        aadhaar.validate(number)

    assert info.value.code == "id_number_check"
    assert info.value.field == "id_number"


@pytest.mark.parametrize("number", ["12345678901", "1234567890123", "023456789012", "abcdefghijkl"])
def test_it_refuses_an_aadhaar_of_the_wrong_shape(aadhaar: IdDocumentType, number: str) -> None:
    with pytest.raises(DomainError) as info:
        aadhaar.validate(number)

    assert info.value.code == "id_number_format"


def test_it_upper_cases_passport_numbers(country: Country) -> None:
    passport = country.id_types.get(code="passport")

    assert passport.validate(" k1234567 ") == "K1234567"


def test_it_names_the_document_in_the_refusal(country: Country) -> None:
    passport = country.id_types.get(code="passport")

    with translation.override("en"), pytest.raises(DomainError) as info:
        passport.validate("12")

    assert "Passport" in str(info.value.message)
