"""Hand-written reads make the same models as the ORM, on SQLite and PostgreSQL."""

import pytest
from django.db import connection

from vaxnet.api.models import ApiToken
from vaxnet.api.v1_auth import api_token_issue
from vaxnet.core.rows import Table, columns, models_from_row
from vaxnet.countries.models import Country
from vaxnet.people.models import Account

pytestmark = pytest.mark.django_db


def _fields(instance: object) -> dict[str, object]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields  # type: ignore[attr-defined]
    }


def test_it_makes_each_table_of_a_joined_row_as_the_orm_does(country: Country) -> None:
    account = Account.objects.create(country=country, phone="+919800000001", language="hi")
    token = api_token_issue(account=account)
    tables: list[Table] = [(ApiToken, "t"), (Account, "a"), (Country, "c")]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(tables)} FROM {quote(ApiToken._meta.db_table)} t "  # noqa: S608
            f"JOIN {quote(Account._meta.db_table)} a ON a.id = t.account_id "
            f"JOIN {quote(Country._meta.db_table)} c ON c.id = a.country_id WHERE t.id = %s",
            [token.pk],
        )
        row = cursor.fetchone()

    made = models_from_row(tables, row)

    expected = [
        ApiToken.objects.get(pk=token.pk),
        Account.objects.get(pk=account.pk),
        Country.objects.get(pk=country.pk),
    ]
    assert [_fields(instance) for instance in made] == [_fields(e) for e in expected]
    assert all(not instance._state.adding for instance in made)
    assert isinstance(made[2].config, dict)  # type: ignore[attr-defined]  # JSON, decoded
