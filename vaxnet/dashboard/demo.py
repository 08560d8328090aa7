"""A vaccination history for the demo, so that the dashboard has a drive to show.

People registered over the last DAYS days, most of them given a first dose, many a second
after the schedule's interval, some a booster; at a sample of the demo's centres (public and
private, across the pack's regions), in closed past sessions, written in bulk. The tallies are
then rebuilt from these records, as `vaxnet rollups rebuild` would.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from vaxnet.booking.models import Session
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary, new_reference
from vaxnet.stock.models import Batch
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.durations import parse_duration
from vaxnet.vaccines.models import Vaccine

DAYS = 90
SEXES = ("female", "male", "female", "male", "other")
PHONE_PREFIX = "+9190"


@dataclass(frozen=True)
class HistorySummary:
    people: int
    doses: int
    sessions: int


def dose_history(
    *,
    country: Country,
    centres: list[Facility],
    vaccinator: User,
    rng: random.Random,
    people: int,
    today: date | None = None,
) -> HistorySummary:
    """Write `people` registrations with their past doses; return what was written."""
    today = today or timezone.localdate()
    vaccines = [
        v
        for v in Vaccine.objects.filter(country=country, active=True, kind=Vaccine.Kind.CAMPAIGN)
        if v.doses.exists()
    ]
    batches = {
        b.vaccine_id: b for b in Batch.objects.filter(vaccine__in=vaccines).order_by("expires_on")
    }
    vaccines = [v for v in vaccines if v.pk in batches]
    id_type = country.id_types.order_by("position").first()
    if not vaccines or not centres or id_type is None:
        return HistorySummary(0, 0, 0)
    places = rng.sample(centres, k=min(len(centres), 60))
    sessions: dict[tuple[int, int, date], Session] = {}

    def session(centre: Facility, vaccine: Vaccine, day: date) -> Session:
        key = (centre.pk, vaccine.pk, day)
        if key not in sessions:
            sessions[key] = Session(
                facility=centre,
                date=day,
                vaccine=vaccine,
                min_age_years=18,
                release_at=timezone.make_aware(datetime.combine(day - timedelta(days=2), time(17))),
                status=Session.Status.CLOSED,
            )
        return sessions[key]

    accounts = Account.objects.bulk_create(
        Account(
            country=country, phone=f"{PHONE_PREFIX}{i:08d}", language=rng.choice(country.languages)
        )
        for i in range(people)
    )
    registered: list[tuple[Beneficiary, date]] = []
    for i, account in enumerate(accounts):
        day = today - timedelta(days=rng.randrange(1, DAYS + 1))
        year = rng.choice([1945, 1955, 1962, 1970, 1978, 1985, 1990, 1996, 2002, 2005])
        registered.append(
            (
                Beneficiary(
                    reference=new_reference(),
                    account=account,
                    country=country,
                    name=f"Demo Person {i + 1}",
                    sex=rng.choice(SEXES),
                    birth_year=year,
                    id_type=id_type,
                    id_hash=f"demo-history-{i:08d}",
                    id_last4=f"{i % 10000:04d}",
                ),
                day,
            )
        )
    Beneficiary.objects.bulk_create([person for person, _day in registered], batch_size=2000)
    # Registered on their day, not all today (created_at is set on insert).
    by_day: dict[date, list[int]] = {}
    for person, day in registered:
        by_day.setdefault(day, []).append(person.pk)
    for day, pks in by_day.items():
        at = timezone.make_aware(datetime.combine(day, time(10)))
        Beneficiary.objects.filter(pk__in=pks).update(created_at=at, updated_at=at)

    doses: list[Vaccination] = []
    for person, day in registered:
        if rng.random() < 0.1:
            continue  # registered, not vaccinated yet
        vaccine = rng.choice(vaccines)
        schedule = sorted(vaccine.doses.all(), key=lambda d: d.number)
        centre = rng.choice(places)
        given = day + timedelta(days=rng.randrange(0, 5))
        for dose in schedule:
            if given >= today:
                break  # the history ends yesterday: today is the demo's facility day
            at = timezone.make_aware(
                datetime.combine(given, time(rng.randrange(9, 17), rng.randrange(60)))
            )
            doses.append(
                Vaccination(
                    beneficiary=person,
                    vaccine=vaccine,
                    target=vaccine.target,
                    batch=batches[vaccine.pk],
                    dose_number=dose.number,
                    dose_kind=dose.kind,
                    given_at=at,
                    given_on=given,
                    facility=centre,
                    session=session(centre, vaccine, given),
                    vaccinator=vaccinator,
                    site="left_arm",
                    source=Vaccination.Source.ONLINE,
                    recorded_at=at,
                )
            )
            if rng.random() < 0.25:
                break  # has not come back (yet): dropout
            following = [d for d in schedule if d.number == dose.number + 1]
            try:
                due = parse_duration(following[0].min_interval).after(given)
            except (IndexError, ValueError):
                due = given + timedelta(days=28)
            given = due + timedelta(days=rng.randrange(0, 10))
            if rng.random() < 0.3:
                centre = rng.choice(places)
    Session.objects.bulk_create(sessions.values(), batch_size=2000)
    for vaccination in doses:
        vaccination.session = sessions[
            (vaccination.facility_id, vaccination.vaccine_id, vaccination.given_on)
        ]
    Vaccination.objects.bulk_create(doses, batch_size=2000)
    return HistorySummary(people=len(registered), doses=len(doses), sessions=len(sessions))


def dose_history_remove(*, country: Country, centres: QuerySet[Facility]) -> None:
    """Remove the demo's vaccination history (before its centres and sessions go)."""
    Vaccination.objects.filter(
        facility__in=centres, beneficiary__account__phone__startswith=PHONE_PREFIX
    ).delete()
    Beneficiary.objects.filter(country=country, account__phone__startswith=PHONE_PREFIX).delete()
    Account.objects.filter(country=country, phone__startswith=PHONE_PREFIX).delete()
