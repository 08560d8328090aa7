"""The public dashboard page: a region's numbers in tables, drill-down, filters, open data."""

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from vaxnet.booking.models import Session
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.dashboard import views
from vaxnet.dashboard.queries import query_of
from vaxnet.dashboard.services import tallies_fold_all
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch

from ..stock.ledger_helpers import TODAY
from .conftest import BAD_QUERIES, give_dose

pytestmark = pytest.mark.usefixtures("clock")


class Tables(HTMLParser):
    """Reads every table of a page: its caption and its rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: list[str] | None = None
        self._rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._rows = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None:
            self.caption = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self.tables[self.caption] = self._rows

    def handle_data(self, data: str) -> None:
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, dict[str, list[str]]]:
    """Return each table of a page by caption, as {row header: the row's other cells}."""
    reader = Tables()
    reader.feed(html)
    return {
        caption: {row[0]: row[1:] for row in rows[1:] if row}
        for caption, rows in reader.tables.items()
    }


def page(client: Client, **params: str) -> Any:
    tallies_fold_all()
    return client.get("/dashboard/", params)


@pytest.fixture
def given(
    shown: Country, asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> Country:
    """Asha's two doses at Hill Town PHC (Hill District, North State): 90 days ago and today."""
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator, days_ago=90)
    give_dose(asha, 2, session=today_session, batch=batch, by=vaccinator)
    return shown


def test_it_shows_the_country_with_links_down_to_its_states(given: Country, client: Client) -> None:
    answer = page(client)

    assert answer.status_code == 200
    html = answer.content.decode()
    assert '<a href="/dashboard/?region=TS-N">North State</a>' in html
    assert '<a href="/dashboard/?region=TS-S">South State</a>' in html
    shown = tables(html)
    assert shown["Doses by state"] == {"North State": ["1"], "South State": ["0"]}
    assert shown["Doses by dose number"] == {"Dose 2": ["1"]}
    assert shown["Doses by vaccine"]["COVISHIELD"] == ["1"]
    assert shown["Doses by sex"] == {"Female": ["1"]}
    by_day = shown["Doses by day"]
    assert len(by_day) == 30
    assert by_day["March 2, 2026"] == ["1"]
    assert shown["Doses by hour today (March 2, 2026)"]["09:00–10:00"] == ["1"]
    # Every number says when it was counted.
    assert html.count('<dd class="as-of"><time datetime="') == html.count('<dd class="figure">')


def test_it_drills_down_to_a_district_with_breadcrumbs_and_a_link_up(
    given: Country, client: Client
) -> None:
    state = page(client, region="TS-N").content.decode()
    assert '<a href="/dashboard/?region=TS-N-HIL">Hill District</a>' in state
    assert tables(state)["Doses by district"] == {"Hill District": ["1"], "River District": ["0"]}

    answer = page(client, region="TS-N-HIL")

    assert answer.status_code == 200
    html = answer.content.decode()
    assert '<a href="/dashboard/">Testland</a>' in html
    assert '<a href="/dashboard/?region=TS-N">North State</a>' in html
    assert "Up to North State" in html
    assert "Hill District has no smaller regions on the dashboard." in html
    headline = html.split('id="headline-title"')[1].split("</section>\n</div>")[0]
    assert "All doses up to March 2, 2026" in headline
    # Both doses, the first long before the 30 days shown: one person complete.
    assert tables(html)["Doses by day"]["March 2, 2026"] == ["1"]


def test_the_filters_stay_in_the_links_and_the_page_speaks_hindi(
    given: Country, client: Client
) -> None:
    client.cookies["vaxnet_language"] = "hi"
    answer = page(client, region="TS-N", **{"from": "2026-02-01", "to": "2026-03-02"})

    assert answer.status_code == 200
    html = answer.content.decode()
    assert '<html lang="hi"' in html
    assert "उत्तर राज्य" in html
    assert 'href="/dashboard/?region=TS-N-HIL&amp;from=2026-02-01&amp;to=2026-03-02"' in html
    assert (
        'href="/api/v1/dashboard/doses_by_region.csv?region=TS-N&amp;from=2026-02-01'
        '&amp;to=2026-03-02&amp;lang=hi"'
    ) in html
    assert 'href="/api/v1/docs"' in html
    day_rows = next(rows for caption, rows in tables(html).items() if len(rows) == 30)
    assert day_rows["2 मार्च 2026"] == ["1"]


def test_a_vaccine_filter_narrows_the_numbers(given: Country, client: Client) -> None:
    html = page(client, vaccine="COVISHIELD").content.decode()
    assert '<option value="COVISHIELD" selected>' in html
    assert tables(html)["Doses by state"]["North State"] == ["1"]


@pytest.mark.parametrize(("params", "_code", "message"), BAD_QUERIES)
def test_bad_input_is_400_with_the_message_beside_the_form(
    shown: Country, client: Client, params: dict[str, str], _code: str, message: str
) -> None:
    answer = page(client, **params)

    assert answer.status_code == 400
    html = answer.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html
    assert '<form method="get" action="/dashboard/"' in html


def test_small_counts_show_as_below_the_threshold(
    country: Country,
    asha: Beneficiary,
    today_session: Session,
    batch: Batch,
    vaccinator: User,
    client: Client,
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)

    html = page(client).content.decode()

    assert tables(html)["Doses by state"] == {"North State": ["< 10"], "South State": ["0"]}
    assert "Counts above 0 and below 10 are shown as “&lt; 10”" in html


def test_it_reads_the_same_few_queries_whatever_the_view(
    given: Country, client: Client, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    page(client, region="TS-N")  # the pack's population is read once per process
    for region in ("", "TS-N", "TS-N-HIL"):
        tallies_fold_all()
        with django_assert_max_num_queries(30):
            assert client.get("/dashboard/", {"region": region}).status_code == 200


def test_today_is_the_country_s_day(given: Country, client: Client) -> None:
    html = page(client).content.decode()
    assert TODAY.isoformat() in html  # the range's last day, in the form


def test_a_kept_page_follows_its_numbers_language_and_filters(
    given: Country, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = page(client, region="TS-N").content.decode()
    assert tables(english)["Doses by district"]["Hill District"] == ["1"]
    client.cookies["vaxnet_language"] = "hi"
    hindi = page(client, region="TS-N").content.decode()
    assert '<html lang="hi"' in hindi and "उत्तर राज्य" in hindi
    assert "Doses by district" not in hindi
    client.cookies["vaxnet_language"] = "en"
    other = page(client, region="TS-N", vaccine="COVAXIN").content.decode()
    assert tables(other)["Doses by district"]["Hill District"] == ["0"]

    # New numbers published for the same view: the page kept for the old ones is not shown.
    numbers = json.loads(views.published_json(query_of(given, region="TS-N")))
    numbers["doses"]["by_region"][0]["count"] = 7
    monkeypatch.setattr(views, "published_json", lambda query: json.dumps(numbers).encode())
    again = page(client, region="TS-N").content.decode()
    assert tables(again)["Doses by district"]["Hill District"] == ["7"]
