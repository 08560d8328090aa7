"""The supply chain's stores: one per region down to districts and per centre, linked upwards."""

import pytest
from django.core.management import call_command

from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region
from vaxnet.stock.models import Store
from vaxnet.stock.stores import store_for_facility, store_for_region, stores_set_up

pytestmark = pytest.mark.django_db


def test_it_makes_the_tree_of_stores_once(country: Country) -> None:
    made = stores_set_up(country=country, by=None)
    again = stores_set_up(country=country, by=None)

    regions = Region.objects.filter(country=country, depth__lte=2).count()
    centres = Facility.objects.filter(country=country, active=True).count()
    assert (made, again) == (regions + centres, 0)
    national = Store.objects.get(level=Store.Level.NATIONAL, region__country=country)
    assert national.parent is None
    for store in Store.objects.exclude(pk=national.pk).select_related("parent", "region"):
        assert store.parent is not None, store
        # Each store is supplied by the store of the region just above its own.
        if store.level == Store.Level.FACILITY:
            assert store.parent.level == Store.Level.DISTRICT
            assert store.region.path.startswith(store.parent.region.path)
        else:
            assert store.parent.region == store.region.parent
    assert AuditEvent.objects.filter(action="store.create").count() == made


def test_a_centre_gets_its_store_and_those_above_it(hill_phc: Facility, hill: Region) -> None:
    store = store_for_facility(facility=hill_phc, by=None)

    assert store.level == Store.Level.FACILITY and store.facility == hill_phc
    assert store.parent is not None and store.parent.region == hill
    chain: list[str] = []
    above: Store | None = store.parent
    while above is not None:
        chain.append(above.level)
        above = above.parent
    assert chain == [Store.Level.DISTRICT, Store.Level.STATE, Store.Level.NATIONAL]
    assert store_for_facility(facility=hill_phc, by=None) == store


def test_a_region_below_a_district_has_no_store_of_its_own(country: Country, hill: Region) -> None:
    block = Region.objects.create(
        country=country,
        code="TS-N-HIL-B1",
        parent=hill,
        level="block",
        depth=3,
        number=10101,
        path=f"{hill.path}TS-N-HIL-B1/",
        names={"en": "Hill Block"},
    )

    with pytest.raises(DomainError) as refused:
        store_for_region(region=block, by=None)

    assert refused.value.code == "store_level"


def test_the_command_sets_up_the_stores(country: Country) -> None:
    call_command("set_up_stores", verbosity=0)

    assert Store.objects.filter(level=Store.Level.NATIONAL).count() == 1
    assert (
        Store.objects.filter(level=Store.Level.FACILITY).count()
        == Facility.objects.filter(active=True).count()
    )
