"""Loading a country pack into the database: all of it or nothing."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from vaxnet.core.audit import audit_record
from vaxnet.core.models import User
from vaxnet.countries.models import Country, IdDocumentType
from vaxnet.countries.pack import Pack
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Population, PostalCode, Region
from vaxnet.vaccines.models import Vaccine, VaccineDose


@dataclass(frozen=True)
class LoadResult:
    """What a load did."""

    country: Country
    changed: bool
    counts: dict[str, int]


def country_load(*, pack: Pack, by: User | None = None, force: bool = False) -> LoadResult:
    """Create or update a country from a validated pack, in one transaction."""
    existing = Country.objects.filter(code=pack.code).first()
    if existing is not None and existing.pack_digest == pack.digest and not force:
        return LoadResult(existing, changed=False, counts={})

    with transaction.atomic():
        country, _ = Country.objects.update_or_create(
            code=pack.code,
            defaults={
                "names": pack.country["names"],
                "timezone": pack.country["timezone"],
                "languages": pack.country["languages"],
                "phone_region": pack.country["phone_region"],
                "currency": pack.country["currency"],
                "config": pack.country["config"],
                "pack_digest": pack.digest,
                "loaded_at": timezone.now(),
            },
        )
        counts = {
            "id_types": _load_id_types(country, pack),
            "vaccines": _load_vaccines(country, pack),
            "regions": _load_regions(country, pack),
        }
        regions = {r.code: r for r in Region.objects.filter(country=country)}
        counts["postal_codes"] = _load_postal_codes(country, pack, regions)
        counts["population"] = _load_population(pack, regions)
        counts["facilities"] = _load_facilities(country, pack, regions)
        audit_record(
            actor=by,
            action="country.load",
            obj=country,
            data={"digest": pack.digest, "counts": counts},
        )
    return LoadResult(country, changed=True, counts=counts)


def _load_id_types(country: Country, pack: Pack) -> int:
    keep = []
    for item in pack.id_types:
        IdDocumentType.objects.update_or_create(
            country=country,
            code=item["code"],
            defaults={k: v for k, v in item.items() if k != "code"},
        )
        keep.append(item["code"])
    IdDocumentType.objects.filter(country=country).exclude(code__in=keep).delete()
    return len(keep)


def _load_vaccines(country: Country, pack: Pack) -> int:
    for item in pack.vaccines:
        fields = {k: v for k, v in item.items() if k not in ("code", "doses")}
        vaccine, _ = Vaccine.objects.update_or_create(
            country=country, code=item["code"], defaults={**fields, "active": True}
        )
        vaccine.doses.exclude(number__in=[d["number"] for d in item["doses"]]).delete()
        for dose in item["doses"]:
            VaccineDose.objects.update_or_create(
                vaccine=vaccine,
                number=dose["number"],
                defaults={k: v for k, v in dose.items() if k != "number"},
            )
    # Products dropped from the pack stay for the records that name them, but are offered no more.
    Vaccine.objects.filter(country=country).exclude(
        code__in=[v["code"] for v in pack.vaccines]
    ).update(active=False)
    return len(pack.vaccines)


def _load_regions(country: Country, pack: Pack) -> int:
    root, _ = Region.objects.update_or_create(
        code=country.code,
        defaults={
            "country": country,
            "parent": None,
            "level": "country",
            "depth": 0,
            "number": 0,
            "path": f"/{country.code}/",
            "names": country.names,
        },
    )
    existing = {r.code: r for r in Region.objects.filter(country=country)}
    # Numbers are unique per country: free them first, so that two regions can swap numbers.
    moved = [
        r
        for r in pack.regions
        if r["code"] in existing and existing[r["code"]].number != r["number"]
    ]
    for offset, row in enumerate(moved, start=1):
        Region.objects.filter(pk=existing[row["code"]].pk).update(number=10**9 + offset)
    by_code = {country.code: root}
    for row in pack.regions:
        parent = by_code[row["parent"]] if row["parent"] else root
        region, _ = Region.objects.update_or_create(
            code=row["code"],
            defaults={
                "country": country,
                "parent": parent,
                "level": row["level"],
                "depth": row["depth"],
                "number": row["number"],
                "path": f"{parent.path}{row['code']}/",
                "names": row["names"],
                "latitude": row["latitude"],
                "longitude": row["longitude"],
            },
        )
        by_code[row["code"]] = region
    return len(pack.regions)


def _load_postal_codes(country: Country, pack: Pack, regions: dict[str, Region]) -> int:
    PostalCode.objects.filter(country=country).exclude(
        code__in=[p["code"] for p in pack.postal_codes]
    ).delete()
    PostalCode.objects.bulk_create(
        [
            PostalCode(
                country=country, code=p["code"], region=regions[p["region"]], place=p["place"]
            )
            for p in pack.postal_codes
        ],
        update_conflicts=True,
        unique_fields=["country", "code"],
        update_fields=["region", "place"],
        batch_size=500,
    )
    return len(pack.postal_codes)


def _load_population(pack: Pack, regions: dict[str, Region]) -> int:
    country_regions = list(regions.values())
    Population.objects.filter(region__in=country_regions).delete()
    Population.objects.bulk_create(
        [
            Population(
                region=regions[p["region"]], age_band=p["age_band"], sex=p["sex"], count=p["count"]
            )
            for p in pack.population
        ],
        batch_size=500,
    )
    return len(pack.population)


def _load_facilities(country: Country, pack: Pack, regions: dict[str, Region]) -> int:
    for item in pack.facilities:
        region = regions[item["region"]]
        Facility.objects.update_or_create(
            country=country,
            code=item["code"],
            defaults={
                **{k: v for k, v in item.items() if k not in ("code", "region")},
                "region": region,
                "region_path": region.path,
            },
        )
    return len(pack.facilities)
