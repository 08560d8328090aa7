"""Mobile numbers are checked and normalised with the country's phone region."""

import pytest

from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.people.services import phone_normalise

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw",
    [
        "9876543210",
        "98765 43210",
        "098765 43210",
        "+91 98765 43210",
        "+91-98765-43210",
        "919876543210",
        " +919876543210 ",
        "(+91) 98765 43210",
    ],
)
def test_it_normalises_indian_mobile_numbers_to_e164(country: Country, raw: str) -> None:
    assert phone_normalise(country=country, raw=raw) == "+919876543210"


@pytest.mark.parametrize(
    "raw",
    [
        "011 2345 6789",  # a Delhi landline
        "+91 11 2345 6789",
        "+91 80 2345 6789",  # a Bengaluru landline
    ],
)
def test_it_refuses_a_landline(country: Country, raw: str) -> None:
    with pytest.raises(DomainError) as info:
        phone_normalise(country=country, raw=raw)

    assert info.value.code == "phone_invalid"
    assert info.value.field == "phone"
    assert "not a mobile number" in str(info.value.message)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "hello", "12345", "98765", "+91 98765 4321", "9" * 40, "+91 98765 43210 ext 5"],
)
def test_it_refuses_garbage(country: Country, raw: str) -> None:
    with pytest.raises(DomainError) as info:
        phone_normalise(country=country, raw=raw)

    assert info.value.code == "phone_invalid"


def test_it_refuses_a_mobile_number_of_another_country(country: Country) -> None:
    with pytest.raises(DomainError) as info:
        phone_normalise(country=country, raw="+44 7911 123456")

    assert info.value.code == "phone_invalid"
    assert "Testland" in str(info.value.message)
