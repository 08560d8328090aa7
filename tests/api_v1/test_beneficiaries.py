"""Members of an account through the API: add, list, correct, remove; others' are not found."""

import pytest
from django.test import Client

from .helpers import OTHER_PHONE, call, error_code, person, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


def _add(client: Client, token: str, seed: int) -> str:
    response = call(client, "post", "beneficiaries", person(seed), token=token)
    assert response.status_code == 201, response.json()
    reference: str = response.json()["reference"]
    return reference


def test_it_corrects_only_the_fields_given(client: Client, token: str) -> None:
    reference = _add(client, token, 1)

    response = call(
        client, "patch", f"beneficiaries/{reference}", {"name": "Asha Devi"}, token=token
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Asha Devi"
    assert response.json()["birth_year"] == 1980


def test_it_sets_and_clears_the_birth_date(client: Client, token: str) -> None:
    reference = _add(client, token, 1)
    path = f"beneficiaries/{reference}"

    assert (
        call(client, "patch", path, {"birth_date": "1980-05-01"}, token=token).json()["birth_date"]
        == "1980-05-01"
    )
    assert call(client, "patch", path, {"name": "A"}, token=token).json()["birth_date"]
    assert (
        call(client, "patch", path, {"birth_date": None}, token=token).json()["birth_date"] is None
    )


def test_it_removes_a_member(client: Client, token: str) -> None:
    reference = _add(client, token, 1)

    assert call(client, "delete", f"beneficiaries/{reference}", token=token).status_code == 204
    assert call(client, "get", "beneficiaries", token=token).json() == {"beneficiaries": []}


def test_it_hides_another_accounts_members(client: Client, token: str) -> None:
    theirs = _add(client, sign_in(client, OTHER_PHONE, address="10.0.0.9"), 2)

    changed = call(client, "patch", f"beneficiaries/{theirs}", {"name": "X"}, token=token)
    removed = call(client, "delete", f"beneficiaries/{theirs}", token=token)
    missing = call(client, "delete", "beneficiaries/99999999999999", token=token)

    assert changed.status_code == removed.status_code == missing.status_code == 404
    assert changed.json() == missing.json()
    assert error_code(removed) == "not_found"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": "  "}, "name_required"),
        ({"sex": "x"}, "sex_invalid"),
        ({"birth_year": 1800}, "birth_year_range"),
        ({"birth_date": "1990-01-01"}, "birth_date_mismatch"),
        ({"id_type": "nope"}, "id_type_unknown"),
    ],
)
def test_it_refuses_wrong_details(
    client: Client, token: str, changes: dict[str, object], code: str
) -> None:
    response = call(client, "post", "beneficiaries", person(1, **changes), token=token)

    assert response.status_code == 400
    assert error_code(response) == code


def test_it_refuses_a_document_registered_twice_and_more_than_four_people(
    client: Client, token: str
) -> None:
    _add(client, token, 0)
    twice = call(client, "post", "beneficiaries", person(0), token=token)
    for seed in range(1, 4):
        _add(client, token, seed)

    fifth = call(client, "post", "beneficiaries", person(9), token=token)

    assert error_code(twice) == "id_duplicate"
    assert (fifth.status_code, error_code(fifth)) == (400, "beneficiary_limit")


def test_it_answers_422_for_a_body_of_the_wrong_shape(client: Client, token: str) -> None:
    missing = call(client, "post", "beneficiaries", {"name": "A"}, token=token)
    not_json = call(client, "post", "beneficiaries", token=token, raw=b"{not json")

    assert missing.status_code == not_json.status_code == 422
    assert error_code(missing) == error_code(not_json) == "invalid_input"
    assert missing.json()["error"]["field"]
