"""Every number of the dashboard against a small world counted by hand."""

from datetime import timedelta

import pytest
from django.test import Client

from vaxnet.api.v1_dashboard_schemas import DashboardOut
from vaxnet.booking.models import Session
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.dashboard.services import facts_tallied
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Population, Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch

from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import TODAY, facility_store, make_batch, stocked
from ..vaccination.day import issue, make_day_session
from .conftest import BAD_QUERIES, give_dose, numbers

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def river_session(river_clinic: Facility) -> tuple[Session, Batch]:
    """Today's COVISHIELD session at River Town Clinic (private), with its own vials."""
    store = facility_store(river_clinic)
    batch = stocked(store, make_batch("LOT-R"), 100)
    session = make_day_session(river_clinic)
    issue(session, batch, 2)
    return session, batch


@pytest.fixture
def ravi(country: Country) -> Beneficiary:
    account = make_account(country, "+919800000002")
    person = make_member(account, 2, birth_year=1950, name="Ravi")
    Beneficiary.objects.filter(pk=person.pk).update(sex="male")
    person.refresh_from_db()
    return person


def test_doses_and_people_count_where_and_when_they_were_given(
    shown: Country,
    asha: Beneficiary,
    ravi: Beneficiary,
    today_session: Session,
    batch: Batch,
    river_session: tuple[Session, Batch],
    vaccinator: User,
) -> None:
    river, river_batch = river_session
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator, days_ago=90)
    give_dose(asha, 2, session=today_session, batch=batch, by=vaccinator)
    give_dose(ravi, 1, session=river, batch=river_batch, by=vaccinator, days_ago=3)

    country = numbers(shown)
    doses = country["doses"]
    assert doses["total"] == 3
    assert doses["today"] == 1
    assert doses["in_range"] == 2  # the last 30 days: asha's dose 2 and ravi's dose 1
    assert {row["dose"]: row["count"] for row in doses["by_dose"]} == {"1": 1, "2": 1}
    assert {row["ownership"]: row["count"] for row in doses["by_ownership"]} == {
        "public": 1,
        "private": 1,
    }
    assert {row["sex"]: row["count"] for row in doses["by_sex"]} == {"female": 1, "male": 1}
    assert {row["age_band"]: row["count"] for row in doses["by_age"]} == {"45-59": 1, "60+": 1}
    by_day = {row["day"]: row["count"] for row in doses["by_day"]}
    assert by_day[TODAY.isoformat()] == 1
    assert by_day[(TODAY - timedelta(days=3)).isoformat()] == 1
    assert sum(by_day.values()) == 2
    assert sum(row["count"] for row in doses["by_hour_today"]) == 1
    assert {row["code"]: row["count"] for row in doses["by_region"]} == {"TS-N": 2, "TS-S": 0}

    people = country["people"]
    assert (people["first"], people["complete"], people["booster"]) == (2, 1, 0)

    north = numbers(shown, region="TS-N")["doses"]
    assert {row["code"]: row["count"] for row in north["by_region"]} == {
        "TS-N-HIL": 1,
        "TS-N-RIV": 1,
    }
    hill = numbers(shown, region="TS-N-HIL")
    assert hill["doses"]["total"] == 2
    assert hill["people"]["first"] == 1
    assert hill["parent"]["code"] == "TS-N"


def test_the_api_answers_the_numbers_and_each_breakdown_as_csv_and_json(
    shown: Country,
    asha: Beneficiary,
    today_session: Session,
    batch: Batch,
    vaccinator: User,
    client: Client,
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)
    answer = client.get("/api/v1/dashboard", {"region": "TS-N", "lang": "hi"})
    assert answer.status_code == 200, answer.content
    data = answer.json()
    DashboardOut.model_validate(data)  # the kept JSON is what the schema documents
    assert data["doses"]["today"] == 1
    assert data["region"] == {"code": "TS-N", "name": "उत्तर राज्य", "level": data["region"]["level"]}
    assert data["as_of"] is not None

    csv = client.get("/api/v1/dashboard/doses_by_region.csv", {"region": "TS-N"})
    assert csv.status_code == 200
    lines = csv.content.decode().splitlines()
    assert lines[0] == "region,from,to,vaccine_filter,code,name,count"
    assert lines[1].startswith("TS-N,") and lines[1].endswith(",TS-N-HIL,Hill District,1")
    rows = client.get("/api/v1/dashboard/sessions.json").json()["rows"]
    assert rows[0]["ongoing"] == 1  # today's session at Hill Town PHC


@pytest.mark.parametrize(("params", "code", "_message"), BAD_QUERIES)
def test_the_api_refuses_what_it_cannot_read_with_a_code(
    shown: Country, client: Client, params: dict[str, str], code: str, _message: str
) -> None:
    answer = client.get("/api/v1/dashboard", params)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


def test_an_unknown_breakdown_is_404(shown: Country, client: Client) -> None:
    answer = client.get("/api/v1/dashboard/passwords.csv")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_breakdown"


def test_coverage_is_people_over_the_packs_population_by_age_band(
    shown: Country, asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator, days_ago=90)
    give_dose(asha, 2, session=today_session, batch=batch, by=vaccinator)
    living = Population.objects.filter(region__code="TS-N-HIL")
    whole = sum(p.count for p in living)
    band = sum(p.count for p in living if p.age_band == "45-59")

    coverage = numbers(shown, region="TS-N-HIL")["coverage"]

    assert coverage["population"] == whole
    assert coverage["first_pct"] == round(100 / whole, 2)
    assert coverage["complete_pct"] == round(100 / whole, 2)
    ages = {row["age_band"]: row for row in coverage["by_age"]}
    assert ages["45-59"]["population"] == band
    assert ages["45-59"]["first_pct"] == round(100 / band, 2)
    assert ages["18-44"]["first_pct"] == 0.0
    north = numbers(shown, region="TS-N")["coverage"]["by_region"]
    hill = next(row for row in north if row["code"] == "TS-N-HIL")
    assert (hill["population"], hill["first"], hill["complete"]) == (whole, 1, 1)


def test_dropout_counts_people_whose_dose_2_is_overdue(
    shown: Country, citizen: Account, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    late, kept_on, recent = (make_member(citizen, 10 + i) for i in range(3))
    give_dose(late, 1, session=today_session, batch=batch, by=vaccinator, days_ago=150)
    give_dose(kept_on, 1, session=today_session, batch=batch, by=vaccinator, days_ago=150)
    give_dose(kept_on, 2, session=today_session, batch=batch, by=vaccinator, days_ago=50)
    give_dose(recent, 1, session=today_session, batch=batch, by=vaccinator, days_ago=5)

    (row,) = numbers(shown)["dropout"]["rows"]

    # COVISHIELD's dose 2 is due at most 112 days after dose 1: `recent` is not counted yet.
    assert row == {
        "vaccine": "COVISHIELD",
        "window_days": 112,
        "started": 2,
        "continued": 1,
        "dropout_pct": 50.0,
    }


def test_registrations_count_by_the_day_age_band_and_sex(shown: Country, citizen: Account) -> None:
    make_member(citizen, 21, birth_year=2015)
    make_member(citizen, 22, birth_year=1960)

    registrations = numbers(shown)["registrations"]

    assert registrations["in_range"] == 2
    assert {row["age_band"]: row["count"] for row in registrations["by_age"]} == {
        "0-17": 1,
        "60+": 1,
    }


def test_small_counts_are_suppressed_and_rates_made_of_them_too(
    country: Country, asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User
) -> None:
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator)

    data = numbers(country)  # the TEST pack suppresses counts below 10

    assert data["suppressed_below"] == 10
    assert data["doses"]["total"] is None
    assert data["people"]["first"] is None
    assert data["coverage"]["first_pct"] is None
    assert {row["code"]: row["count"] for row in data["doses"]["by_region"]} == {
        "TS-N": None,
        "TS-S": 0,
    }


def test_rates_days_of_supply_and_sessions_from_counted_facts(shown: Country) -> None:
    sea = Region.objects.get(code="TS-S-SEA")
    day = TODAY.isoformat()
    yesterday, tomorrow = (TODAY - timedelta(days=1)).isoformat(), (TODAY + timedelta(days=1))
    dose = ("dose", day, 10, sea.pk, "COVISHIELD", 1, "public", "45-59", "female")
    facts_tallied(
        [
            *[dose] * 4,
            ("aefi", day, sea.pk, "COVISHIELD", "minor"),
            (
                "stock",
                (TODAY - timedelta(days=40)).isoformat(),
                sea.pk,
                "COVISHIELD",
                "receipt",
                280,
            ),
            ("stock", day, sea.pk, "COVISHIELD", "consumption", -56),
            ("stock", day, sea.pk, "COVISHIELD", "wastage_open", -4),
            ("stock", day, sea.pk, "COVISHIELD", "wastage_closed", -10),
            *[("session", day, sea.pk, "COVISHIELD", "planned")] * 2,
            ("session", tomorrow.isoformat(), sea.pk, "COVISHIELD", "planned"),
            *[("session", yesterday, sea.pk, "COVISHIELD", "closed")] * 3,
            ("session", yesterday, sea.pk, "COVISHIELD", "planned"),
            ("session", day, sea.pk, "COVISHIELD", "cancelled"),
        ]
    )

    data = numbers(shown, region="TS-S-SEA", last=tomorrow.isoformat(), day=day)

    assert data["aefi"]["total"] == 1
    assert data["aefi"]["per_100k_doses"] == 25000.0  # 1 report for 4 doses
    assert data["wastage"] == {
        "as_of": data["as_of"],
        "doses_used": 56,
        "open_vial": 4,
        "closed_vial": 10,
        "open_vial_pct": round(4 * 100 / 60, 2),
        "closed_vial_pct": round(10 * 100 / 70, 2),
    }
    assert data["sessions"] == {
        "as_of": data["as_of"],
        "planned": 1,
        "ongoing": 2,
        "completed": 3,
        "cancelled": 1,
        "not_closed": 1,
    }
    (stock,) = data["stock"]["rows"]  # a district: its own stores
    # 280 in, 70 out; 56 given in the last 28 days: 2 a day.
    assert (stock["doses"], stock["daily_use"], stock["days_of_supply"]) == (210, 2.0, 105.0)
    south = numbers(shown, region="TS-S", last=tomorrow.isoformat(), day=day)["stock"]["rows"]
    assert [(row["code"], row["doses"], row["days_of_supply"]) for row in south] == [
        ("TS-S-SEA", 210, 105.0),
        ("TS-S-FOR", 0, None),
    ]
