"""The stock reports page, its CSV downloads and the alerts page, through HTTP."""

import csv
import io
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import include, path

from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.requisitions import transfer_dispatch
from vaxnet.stock.services import stock_consume, stock_receive, stock_waste
from vaxnet.urls import urlpatterns as site_urlpatterns

from .ledger_helpers import DAY, NOW, facility_store, make_batch, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

urlpatterns = [
    *site_urlpatterns,
    path("stock/reports/", include("vaxnet.stock.report_urls")),
]

PAGE = "/stock/reports/"


@pytest.fixture(autouse=True)
def _urls() -> Iterator[None]:
    with override_settings(ROOT_URLCONF=__name__):
        yield


@pytest.fixture
def stocked(phc: Store, district: Store) -> None:
    """The PHC: 100 doses in, 30 given, 5 broken; the district: 200 in, 20 of them on the road."""
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=100, supplier="M", now=NOW - 10 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=30, now=NOW - 3 * DAY)
    stock_waste(by=None, store=phc, batch=batch, doses=10, reason="breakage", now=NOW - 3 * DAY)
    other = make_batch("L2")
    stock_receive(by=None, store=district, batch=other, doses=200, supplier="M")
    transfer_dispatch(by=None, source=district, destination=phc, lines={other: 20})


def _csv(client: Client, report: str, query: str = "") -> list[list[str]]:
    response = client.get(f"{PAGE}{report}.csv{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{report}-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_visitors_are_sent_to_the_staff_sign_in(client: Client) -> None:
    for url in (PAGE, f"{PAGE}alerts/", f"{PAGE}on-hand.csv"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/sign-in/")


def test_a_store_keeper_sees_the_reports_of_their_store(
    stocked: None, phc: Store, store_keeper: User
) -> None:
    response = signed_in(store_keeper).get(PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<caption>" in page
    assert '<th scope="col">Doses</th>' in page
    assert f'<th scope="row">{phc.name}</th>' in page
    assert "Hill District" not in page.split('id="report-results"')[1]
    assert f'href="{PAGE}wastage.csv?from=2026-02-01&amp;to=2026-03-02"' in page


def test_a_district_admin_sees_every_store_of_the_district_in_bounded_queries(
    stocked: None,
    phc: Store,
    district: Store,
    district_admin: User,
    django_assert_max_num_queries: object,
) -> None:
    client = signed_in(district_admin)

    with django_assert_max_num_queries(25):  # type: ignore[operator]
        response = client.get(PAGE)

    page = response.content.decode()
    assert f'<th scope="row">{phc.name}</th>' in page
    assert f'<th scope="row">{district.name}</th>' in page
    region = client.get(PAGE, {"region": "TS-N-HIL"})
    assert region.status_code == 200


def test_other_stores_and_regions_answer_404(
    stocked: None, district: Store, sea_hospital: Facility, store_keeper: User, district_admin: User
) -> None:
    keeper, admin = signed_in(store_keeper), signed_in(district_admin)
    sea = facility_store(sea_hospital)

    assert keeper.get(PAGE, {"store": district.public_id}).status_code == 404
    assert keeper.get(PAGE, {"region": "TS-N-HIL"}).status_code == 404
    assert keeper.get(f"{PAGE}on-hand.csv", {"store": district.public_id}).status_code == 404
    assert admin.get(PAGE, {"store": sea.public_id}).status_code == 404
    assert admin.get(PAGE, {"store": "missing"}).status_code == 404
    assert admin.get(PAGE, {"region": "TS-S"}).status_code == 404
    assert admin.get(f"{PAGE}no-such-report.csv").status_code == 404


def test_staff_without_a_store_see_nothing(stocked: None, outsider: User) -> None:
    client = signed_in(outsider)

    response = client.get(PAGE)

    assert response.status_code == 200
    assert "Your role does not answer for any store" in response.content.decode()
    assert client.get(f"{PAGE}on-hand.csv").status_code == 404
    assert "Your role does not answer" in client.get(f"{PAGE}alerts/").content.decode()


def test_each_report_downloads_as_csv(
    stocked: None, phc: Store, district: Store, district_admin: User
) -> None:
    client = signed_in(district_admin)
    query = "?from=2026-02-01&to=2026-03-02"

    assert _csv(client, "on-hand", query) == [
        ["Store", "Vaccine", "Batch", "Expiry date", "Doses", "Vials"],
        [district.name, "COVISHIELD", "L2", "2027-01-31", "180", "18"],
        [phc.name, "COVISHIELD", "L1", "2027-01-31", "60", "6"],
    ]
    assert _csv(client, "in-transit", query) == [
        ["Destination", "Vaccine", "Doses"],
        [phc.name, "COVISHIELD", "20"],
    ]
    assert _csv(client, "consumption", query) == [
        ["Store", "Vaccine", "Doses given"],
        [phc.name, "COVISHIELD", "30"],
    ]
    assert _csv(client, "wastage", query) == [
        [
            "Store",
            "Vaccine",
            "Doses given",
            "Open-vial doses wasted",
            "Open-vial wastage rate",
            "Closed-vial doses wasted",
            "Closed-vial wastage rate",
        ],
        [phc.name, "COVISHIELD", "30", "0", "0.0000", "10", "0.2500"],
    ]
    supply = _csv(client, "days-of-supply", query)
    assert supply[0] == [
        "Store",
        "Vaccine",
        "Doses on hand",
        "Doses given in 14 days",
        "Doses a day",
        "Days of supply",
    ]
    assert supply[1:] == [
        [district.name, "COVISHIELD", "180", "0", "0.0", ""],
        [phc.name, "COVISHIELD", "60", "30", "2.1", "28.0"],
    ]


def test_csv_headers_are_translated(stocked: None, store_keeper: User) -> None:
    client = signed_in(store_keeper)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"

    header = _csv(client, "in-transit")[0]

    assert header[1:] == ["टीका", "खुराक"]  # Vaccine, Doses


def test_a_bad_date_range_is_explained_and_the_default_shown(
    stocked: None, store_keeper: User
) -> None:
    client = signed_in(store_keeper)

    backwards = client.get(PAGE, {"from": "2026-03-01", "to": "2026-02-01"}).content.decode()
    garbled = client.get(PAGE, {"from": "soon"}).content.decode()

    assert "The last day cannot come before the first." in backwards
    assert "Give the first day as a date." in garbled
    assert 'value="2026-02-01"' in garbled


def test_htmx_gets_only_the_results(stocked: None, store_keeper: User) -> None:
    response = signed_in(store_keeper).get(PAGE, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "<html" not in page
    assert "Download CSV" in page


def test_the_alerts_page_lists_the_alerts_in_scope(
    stocked: None, phc: Store, store_keeper: User, outsider: User
) -> None:
    # Given today: the store keeps 5 doses, and the average of the days before stands.
    stock_consume(by=None, store=phc, batch=Batch.objects.get(lot_number="L1"), doses=55)

    page = signed_in(store_keeper).get(f"{PAGE}alerts/").content.decode()

    assert "Low stock" in page
    assert f'<th scope="row">{phc.name}</th>' in page
    assert "Low stock" not in signed_in(outsider).get(f"{PAGE}alerts/").content.decode()
