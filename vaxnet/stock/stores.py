"""The stores of a country's supply chain: one for the nation, each state, district and centre.

Stock flows down the administrative tree, as in eVIN: the national store supplies the
states', a state's store its districts', a district's store the centres in it. A store is
made for each region down to districts and for each active centre, its supplier being the
store of the nearest region above it that has one.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region
from vaxnet.stock.models import Store

# Region depth → the level of its store; deeper regions (blocks…) are served by a district's.
LEVEL_BY_DEPTH = {
    0: Store.Level.NATIONAL,
    1: Store.Level.STATE,
    2: Store.Level.DISTRICT,
}


def _store_name(region: Region, level: str) -> str:
    return _("{region}: {level}").format(region=region.name, level=Store.Level(level).label)


def store_for_region(*, region: Region, by: User | None) -> Store:
    """Return the region's store, making it (and those above it) first if need be."""
    level = LEVEL_BY_DEPTH.get(region.depth)
    if level is None:
        raise DomainError(
            "store_level",
            _("Only the country, its states and its districts have stores of their own."),
        )
    existing = Store.objects.filter(region=region, level=level).first()
    if existing is not None:
        return existing
    parent = None
    if region.parent is not None:
        parent = store_for_region(region=region.parent, by=by)
    with transaction.atomic():
        store = Store.objects.create(
            name=_store_name(region, level), level=level, region=region, parent=parent
        )
        audit_record(actor=by, action="store.create", obj=store, data={"level": level})
    return store


def store_for_facility(*, facility: Facility, by: User | None) -> Store:
    """Return the centre's store, making it first (supplied by its district's) if need be."""
    existing = Store.objects.filter(facility=facility).first()
    if existing is not None:
        return existing
    region = facility.region
    while region.depth not in LEVEL_BY_DEPTH and region.parent is not None:
        region = region.parent
    parent = store_for_region(region=region, by=by)
    with transaction.atomic():
        store = Store.objects.create(
            name=facility.name,
            level=Store.Level.FACILITY,
            region=facility.region,
            facility=facility,
            parent=parent,
        )
        audit_record(actor=by, action="store.create", obj=store, data={"level": "facility"})
    return store


def stores_set_up(*, country: Country, by: User | None) -> int:
    """Make every missing store of the country (regions down to districts, active centres).

    Return how many were made. Running it again makes only those still missing.
    """
    before = Store.objects.filter(region__country=country).count()
    regions = Region.objects.filter(country=country, depth__lte=max(LEVEL_BY_DEPTH))
    for region in regions.order_by("depth", "number"):
        store_for_region(region=region, by=by)
    centres = Facility.objects.filter(country=country, active=True).select_related("region")
    for facility in centres.order_by("code"):
        store_for_facility(facility=facility, by=by)
    return Store.objects.filter(region__country=country).count() - before
