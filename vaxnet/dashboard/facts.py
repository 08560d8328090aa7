"""What the dashboard counts: facts, and the tallies each fact counts in.

A fact is a short list, the same whether it is worked out as a dose is recorded or when the
tallies are rebuilt from the records:

- ["dose", day, hour, region, vaccine, dose number, ownership, age band, sex]: a valid dose;
- ["person", milestone, day, region, vaccine, age band, sex]: a person reached a milestone
  for a disease (first: a first dose; complete: the primary series; booster: a first
  booster or precaution dose) with that dose, on that day, there;
- ["cohort", day, region, vaccine, continued]: a person's dose 1, and whether a dose 2
  followed (dropout is read from these, by the day of dose 1);
- ["aefi", day, region, vaccine, severity]: an adverse event reported;
- ["session", day, region, vaccine, status]: a session and its status;
- ["stock", day, region, vaccine, kind, doses]: a stock move (wastage split into
  wastage_open and wastage_closed);
- ["registration", day, age band, sex]: a person registered;
- ["booking", day, region, vaccine, dose number] and ["cancellation", day, region, vaccine].

Regions are ids (the facility's, the store's); a fact counts in that region and in each one
above it. The person's age band is their age on the day, in the pack's bands.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from itertools import pairwise
from typing import Any

from django.utils import timezone

from vaxnet.countries.models import Country
from vaxnet.geo.models import Region
from vaxnet.people.models import Beneficiary
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.models import VaccineDose

Fact = tuple[Any, ...]
# metric, day, region id, vaccine code, breakdown, value
Cell = tuple[str, str, int, str, str, str]
# A tally as written: metric, span ("d", "m" or "y"), first day, region, vaccine, dim, value.
Kept = tuple[str, str, str, int, str, str, str]
BOOSTER_KINDS = frozenset({"booster", "precaution"})
MILESTONES = ("first", "complete", "booster")
# The breakdowns each kind of fact is counted under, besides its total.
DOSE_DIMS = ("dose", "age", "sex", "ownership", "hour")
PERSON_DIMS = ("age", "sex")
# The vaccine of the tallies that count every vaccine's (and those of none, registrations):
# a view of all vaccines reads these, not each vaccine's.
ALL_VACCINES = "*"
# Breakdowns kept per day only, not per month and year.
DAY_ONLY_DIMS = frozenset({"hour"})
# Totals a region also keeps by the region below it they came from (breakdown "region",
# the child's id): the drill-down's numbers of every child are one read of the parent's.
BY_CHILD_METRICS = frozenset({"doses", *MILESTONES})


# Regions and age bands.


@dataclass(frozen=True)
class Places:
    """Each region's id with the ids of itself and every region above it, and the root's."""

    up: dict[int, tuple[int, ...]]
    root: int


def places(country: Country) -> Places:
    """Return the country's regions, read once per process and again when one is unknown."""
    return _places(country.pk, Region.objects.filter(country=country).count())


@cache
def _places(country_id: int, count: int) -> Places:
    rows = list(Region.objects.filter(country_id=country_id).values_list("pk", "code", "path"))
    by_code = {code: pk for pk, code, _path in rows}
    up = {
        pk: tuple(by_code[code] for code in path.strip("/").split("/") if code in by_code)
        for pk, _code, path in rows
    }
    roots = [pk for pk, ups in up.items() if len(ups) == 1]
    if not roots:
        raise ValueError("the country has no root region")
    return Places(up=up, root=roots[0])


def age_bands(country: Country) -> list[tuple[str, int, int | None]]:
    """Return the pack's age bands: label, first year of age, last (None: no upper end)."""
    bands: list[tuple[str, int, int | None]] = []
    for label in country.setting("population", "age_bands", []) or []:
        if label.endswith("+"):
            bands.append((label, int(label[:-1]), None))
        else:
            low, high = label.split("-")
            bands.append((label, int(low), int(high)))
    return bands


def age_band(bands: Sequence[tuple[str, int, int | None]], age: int) -> str:
    """Return the band an age falls in ("" when none does)."""
    for label, low, high in bands:
        if age >= low and (high is None or age <= high):
            return label
    return ""


def age_on(day: date, birth_year: int, birth_date: date | None) -> int:
    """Return a person's age in whole years on a day (from the year alone when that is all)."""
    if birth_date is None:
        return day.year - birth_year
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# What each fact counts in.


def cells(fact: Sequence[Any], root: int) -> list[tuple[Cell, int]]:
    """Return the tallies of its own region a fact counts in, with how much it adds to each.

    (It counts the same in every region above: see `lifted`.) Registrations count in the
    country's, the `root` region.
    """
    kind = fact[0]
    if kind == "dose":
        _, day, hour, region, vaccine, number, ownership, band, sex = fact
        values = (str(number), band, sex, ownership, f"{hour:02d}")
        pairs = [("", ""), *zip(DOSE_DIMS, values, strict=True)]
        return _spread("doses", day, region, vaccine, pairs, 1)
    if kind == "person":
        _, milestone, day, region, vaccine, band, sex = fact
        pairs = [("", ""), ("age", band), ("sex", sex)]
        return _spread(milestone, day, region, vaccine, pairs, 1)
    if kind == "cohort":
        _, day, region, vaccine, continued = fact
        found = _spread("started", day, region, vaccine, [("", "")], 1)
        if continued:
            found += _spread("continued", day, region, vaccine, [("", "")], 1)
        return found
    if kind == "aefi":
        _, day, region, vaccine, severity = fact
        return _spread("aefi", day, region, vaccine, [("", ""), ("severity", severity)], 1)
    if kind == "session":
        _, day, region, vaccine, status = fact
        return _spread("sessions", day, region, vaccine, [("status", status)], 1)
    if kind == "stock":
        _, day, region, vaccine, move, doses = fact
        return _spread("stock", day, region, vaccine, [("kind", move)], doses)
    if kind == "registration":
        _, day, band, sex = fact
        pairs = [("", ""), ("age", band), ("sex", sex)]
        return [(("registrations", day, root, "", dim, value), 1) for dim, value in pairs]
    if kind == "booking":
        _, day, region, vaccine, number = fact
        pairs = [("", ""), ("dose", str(number))]
        return _spread("bookings", day, region, vaccine, pairs, 1)
    if kind == "cancellation":
        _, day, region, vaccine = fact
        return _spread("cancellations", day, region, vaccine, [("", "")], 1)
    raise ValueError(f"unknown fact: {kind!r}")


def _spread(
    metric: str,
    day: str,
    region: int,
    vaccine: str,
    pairs: Iterable[tuple[str, str]],
    amount: int,
) -> list[tuple[Cell, int]]:
    return [((metric, day, region, vaccine, dim, value), amount) for dim, value in pairs]


def tallies_of(changes: Iterable[tuple[Sequence[Any], int]], where: Places) -> Counter[Cell]:
    """Return what facts added (change 1) or taken away (change -1) make of the tallies."""
    return lifted(counted(changes, where.root), where)


def counted(changes: Iterable[tuple[Sequence[Any], int]], root: int) -> Counter[Cell]:
    """Return what facts added or taken away make of the tallies of their own regions."""
    total: Counter[Cell] = Counter()
    for fact, change in changes:
        for cell, amount in cells(fact, root):
            total[cell] += change * amount
    return total


def lifted(own: Counter[Cell], where: Places) -> Counter[Cell]:
    """Return tallies of their own regions counted in every region above them too.

    Summed in each region first, then lifted: far fewer additions than lifting each fact.
    The totals of BY_CHILD_METRICS are also counted in each region above by the child of
    that region they came through.
    """
    total: Counter[Cell] = Counter()
    up = where.up
    for (metric, day, region, vaccine, dim, value), n in own.items():
        if n:
            chain = up.get(region, (region,))
            for above in chain:
                total[(metric, day, above, vaccine, dim, value)] += n
            if not dim and metric in BY_CHILD_METRICS:
                for above, child in pairwise(chain):
                    total[(metric, day, above, vaccine, "region", str(child))] += n
    return total


def kept(total: Counter[Cell]) -> Counter[Kept]:
    """Return the tallies to write for day counts: each day's, its month's and its year's,
    each for its vaccine and for all vaccines (ALL_VACCINES)."""
    found: Counter[Kept] = Counter()
    for (metric, day, region, vaccine, dim, value), n in total.items():
        if not n:
            continue
        month, year = day[:8] + "01", day[:5] + "01-01"
        for which in (vaccine, ALL_VACCINES):
            found[(metric, "d", day, region, which, dim, value)] += n
            if dim not in DAY_ONLY_DIMS:
                found[(metric, "m", month, region, which, dim, value)] += n
                found[(metric, "y", year, region, which, dim, value)] += n
    return Counter({cell: n for cell, n in found.items() if n})  # taken away: negative


# People: what each registration counts for.


@dataclass(frozen=True)
class Dose:
    """What a person's facts need of one valid dose."""

    owner: int
    target: str
    vaccine_id: int
    vaccine: str
    number: int
    kind: str
    given_at: datetime
    given_on: date
    region: int
    ownership: str


DOSE_FIELDS = (
    "beneficiary_id",
    "target",
    "vaccine_id",
    "vaccine__code",
    "dose_number",
    "dose_kind",
    "given_at",
    "given_on",
    "facility__region_id",
    "facility__kind",
)


def primary_doses(vaccine_ids: Iterable[int]) -> dict[int, int]:
    """Return how many primary doses each vaccine's schedule has."""
    counts: Counter[int] = Counter()
    wanted = set(vaccine_ids)
    for vaccine_id in VaccineDose.objects.filter(
        vaccine_id__in=wanted, kind=VaccineDose.Kind.PRIMARY
    ).values_list("vaccine_id", flat=True):
        counts[vaccine_id] += 1
    return {vaccine_id: counts[vaccine_id] for vaccine_id in wanted}


@dataclass(frozen=True)
class Person:
    """What a person's facts need of the person: who counts their doses, age and sex."""

    pk: int
    owner: int  # the registration their doses count with: their own, or the one kept
    birth_year: int
    birth_date: date | None
    sex: str
    registered_at: datetime


def people_facts(
    people: dict[int, Person],
    doses: Iterable[Dose],
    bands: Sequence[tuple[str, int, int | None]],
    series: dict[int, int],
) -> dict[int, list[Fact]]:
    """Return each registration's facts: its registration, and the doses counted with it.

    `people` holds every registration concerned (a kept person and those merged into them);
    `doses` every valid dose of theirs, with `owner` the registration it was recorded for.
    A merged registration keeps its registration only: its doses count with the kept person.
    """
    mine: dict[int, list[Dose]] = {pk: [] for pk in people}
    for dose in doses:
        owner = people[dose.owner].owner if dose.owner in people else dose.owner
        mine.setdefault(owner, []).append(dose)
    facts: dict[int, list[Fact]] = {}
    zone = timezone.get_current_timezone()  # once: looking it up is dearer than converting
    for pk, person in people.items():
        registered = [registration_fact(person, bands, zone)]
        if person.owner != pk:
            facts[pk] = registered
            continue
        facts[pk] = sorted(registered + _facts(person, mine.get(pk, []), bands, series, zone))
    return facts


def registration_fact(
    person: Person, bands: Sequence[tuple[str, int, int | None]], zone: tzinfo
) -> Fact:
    """Return the fact of a registration: its day, and the person's age band then and sex."""
    day = person.registered_at.astimezone(zone).date()
    band = age_band(bands, age_on(day, person.birth_year, person.birth_date))
    return ("registration", day.isoformat(), band, person.sex)


def _facts(
    person: Person,
    doses: list[Dose],
    bands: Sequence[tuple[str, int, int | None]],
    series: dict[int, int],
    zone: tzinfo,
) -> list[Fact]:
    def band(day: date) -> str:
        return age_band(bands, age_on(day, person.birth_year, person.birth_date))

    found: list[Fact] = []
    by_target: dict[str, list[Dose]] = {}
    for dose in doses:
        found.append(
            (
                "dose",
                dose.given_on.isoformat(),
                dose.given_at.astimezone(zone).hour,
                dose.region,
                dose.vaccine,
                dose.number,
                dose.ownership,
                band(dose.given_on),
                person.sex,
            )
        )
        by_target.setdefault(dose.target, []).append(dose)
    for given in by_target.values():
        given.sort(key=lambda d: (d.given_at, d.number))
        reached = {
            "first": given[0],
            "complete": next(
                (
                    d
                    for d in given
                    if d.kind not in BOOSTER_KINDS and d.number >= series.get(d.vaccine_id, 1)
                ),
                None,
            ),
            "booster": next((d for d in given if d.kind in BOOSTER_KINDS), None),
        }
        for milestone in MILESTONES:
            reaching = reached[milestone]
            if reaching is not None:
                day = reaching.given_on
                where = (day.isoformat(), reaching.region, reaching.vaccine)
                found.append(("person", milestone, *where, band(day), person.sex))
        first = next((d for d in given if d.number == 1 and d.kind not in BOOSTER_KINDS), None)
        if first is not None:
            continued = any(d.number == 2 and d.kind not in BOOSTER_KINDS for d in given)
            found.append(
                ("cohort", first.given_on.isoformat(), first.region, first.vaccine, int(continued))
            )
    return found


def load_people(pks: Iterable[int]) -> dict[int, Person]:
    """Return the registrations concerned by a change to these: with who they count with.

    That is each of them, the person each was merged into, and every registration merged
    into any of those.
    """
    wanted = set(pks)
    rows = list(Beneficiary.objects.filter(pk__in=wanted).values_list("pk", "merged_into_id"))
    owners = {merged_into or pk for pk, merged_into in rows}
    found = Beneficiary.objects.filter(pk__in=wanted | owners) | Beneficiary.objects.filter(
        merged_into_id__in=owners
    )
    return {row[0]: person_of(row) for row in found.values_list(*PERSON_FIELDS)}


PERSON_FIELDS = ("pk", "merged_into_id", "birth_year", "birth_date", "sex", "created_at")


def person_of(row: Sequence[Any]) -> Person:
    """Return a person from a row of PERSON_FIELDS."""
    pk, merged_into, birth_year, birth_date, sex, created_at = row
    return Person(
        pk=pk,
        owner=merged_into or pk,
        birth_year=birth_year,
        birth_date=birth_date,
        sex=sex,
        registered_at=created_at,
    )


def valid_doses(owners: Iterable[int]) -> list[Dose]:
    """Return the valid doses recorded for these registrations."""
    return [
        dose_of(row)
        for row in Vaccination.objects.filter(
            beneficiary_id__in=list(owners), status=Vaccination.Status.VALID
        )
        .order_by()
        .values_list(*DOSE_FIELDS)
    ]


def dose_of(row: Sequence[Any]) -> Dose:
    """Return a dose from a row of DOSE_FIELDS."""
    owner, target, vaccine_id, vaccine, number, kind, given_at, given_on, region, ownership = row
    return Dose(
        owner=owner,
        target=target,
        vaccine_id=vaccine_id,
        vaccine=vaccine,
        number=number,
        kind=kind,
        given_at=given_at,
        given_on=given_on,
        region=region,
        ownership=ownership,
    )
