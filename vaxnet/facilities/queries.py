"""Reads about facilities: the public directory and the home page figures."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxnet.booking.models import Session
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.facilities.models import Facility, FacilityFee
from vaxnet.geo.models import PostalCode, Region

PAGE_SIZE = 20


@dataclass
class DirectoryResult:
    """One page of the directory and how the search was understood."""

    page: Page | None = None
    region: Region | None = None
    postal_code: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def region_choices(country: Country) -> list[tuple[Region, list[Region]]]:
    """Return the first-level regions, each with the regions one level below it."""
    regions = list(Region.objects.filter(country=country, depth__in=[1, 2]).order_by("depth"))
    children: dict[int, list[Region]] = {}
    for region in regions:
        if region.depth == 2 and region.parent_id is not None:
            children.setdefault(region.parent_id, []).append(region)
    top = sorted((r for r in regions if r.depth == 1), key=lambda r: r.name)
    return [(r, sorted(children.get(r.pk, []), key=lambda c: c.name)) for r in top]


@dataclass
class PostalNarrowing:
    """How a postal code narrowed a list of centres: exact, to its district, or not at all."""

    facilities: QuerySet[Facility]
    outcome: str  # "invalid" | "exact" | "region" | "unknown"
    region: Region | None = None


def narrow_by_postal_code(
    country: Country, facilities: QuerySet[Facility], code: str
) -> PostalNarrowing:
    """Keep the centres with the postal code, else those of its region when it is known."""
    if not country.postal_code_valid(code):
        return PostalNarrowing(facilities, "invalid")
    if facilities.filter(postal_code=code).exists():
        return PostalNarrowing(facilities.filter(postal_code=code), "exact")
    known = PostalCode.objects.filter(country=country, code=code).select_related("region").first()
    if known is None:
        return PostalNarrowing(facilities.none(), "unknown")
    region = known.region
    return PostalNarrowing(facilities.filter(region_path__startswith=region.path), "region", region)


def _listing(country: Country) -> QuerySet[Facility]:
    return (
        Facility.objects.filter(country=country, active=True)
        .select_related("region", "region__parent")
        .prefetch_related(Prefetch("fees", queryset=FacilityFee.objects.select_related("vaccine")))
    )


def facility_directory(
    *, country: Country, region_code: str = "", postal_code: str = "", kind: str = "", page: int = 1
) -> DirectoryResult:
    """Search centres by region, postal code and kind; refuse malformed input with a reason."""
    result = DirectoryResult(postal_code=postal_code.strip())
    facilities = _listing(country)
    if region_code:
        result.region = Region.objects.filter(country=country, code=region_code).first()
        if result.region is None:
            result.errors["region"] = _("Choose a region from the list.")
        else:
            facilities = facilities.filter(region_path__startswith=result.region.path)
    if kind:
        if kind not in Facility.Kind.values:
            result.errors["kind"] = _("Choose government or private.")
        else:
            facilities = facilities.filter(kind=kind)
    if result.postal_code:
        narrowed = narrow_by_postal_code(country, facilities, result.postal_code)
        facilities = narrowed.facilities
        label, code = country.postal_code_label, result.postal_code
        if narrowed.outcome == "invalid":
            result.errors["postal_code"] = _("This is not a valid {label}.").format(label=label)
        elif narrowed.outcome == "unknown":
            result.note = _(
                "We know no centre for the {label} {code}. Check it, or choose your region instead."
            ).format(label=label, code=code)
        elif narrowed.region is not None:
            result.note = _(
                "No centre has the {label} {code}; these are the centres in {region}."
            ).format(label=label, code=code, region=narrowed.region.name)
    if result.errors:
        return result
    paginator = Paginator(facilities.order_by("region_path", "code"), PAGE_SIZE)
    result.page = paginator.get_page(page)
    return result


def facility_public(public_id: str) -> Facility | None:
    """Return an active facility of this deployment's country by its public id."""
    country = active_country()
    return _listing(country).filter(public_id=public_id).first() if country is not None else None


def upcoming_sessions(facility: Facility, *, days: int = 14) -> list[Session]:
    """Return the facility's planned sessions from today on."""
    today = timezone.localdate()
    return list(
        Session.objects.filter(
            facility=facility,
            status=Session.Status.PLANNED,
            date__gte=today,
            date__lt=date.fromordinal(today.toordinal() + days),
        )
        .select_related("vaccine")
        .prefetch_related("slots", "doses")
        .order_by("date", "vaccine__code")
    )


def home_summary() -> dict[str, Any]:
    """Return the figures the home page shows."""
    country = active_country()
    if country is None:
        return {"facility_count": 0, "district_count": 0, "vaccines": [], "session_count": 0}
    today = timezone.localdate()
    return {
        "facility_count": Facility.objects.filter(country=country, active=True).count(),
        "district_count": Facility.objects.filter(country=country, active=True)
        .values("region")
        .distinct()
        .count(),
        "vaccines": list(country.vaccines.filter(active=True).order_by("kind", "code")),
        "session_count": Session.objects.filter(
            facility__country=country, status=Session.Status.PLANNED, date__gte=today
        ).count(),
    }
