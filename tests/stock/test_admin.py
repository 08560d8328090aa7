"""Stock in the admin: every list can be looked at, and nothing can be changed there."""

import pytest
from django.test import Client

from vaxnet.countries.models import Country
from vaxnet.stock.stores import stores_set_up

pytestmark = pytest.mark.django_db

MODELS = [
    "store",
    "batch",
    "stockmove",
    "balance",
    "transfer",
    "requisition",
    "pendingadjustment",
    "equipment",
    "excursion",
]


@pytest.mark.parametrize("model", MODELS)
def test_each_list_shows_and_nothing_can_be_added(
    admin_client: Client, country: Country, model: str
) -> None:
    stores_set_up(country=country, by=None)

    assert admin_client.get(f"/admin/stock/{model}/").status_code == 200
    assert admin_client.get(f"/admin/stock/{model}/add/").status_code == 403
