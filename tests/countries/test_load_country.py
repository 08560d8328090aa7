"""Loading country packs: idempotent, atomic, and precise about what is wrong."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from vaxnet.core.models import AuditEvent
from vaxnet.countries import services
from vaxnet.countries.models import Country
from vaxnet.countries.pack import PackInvalid, pack_dir, read_pack
from vaxnet.countries.services import country_load
from vaxnet.geo.models import Population, PostalCode, Region
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    """A packs folder holding a copy of the TEST pack renamed ZZ, free to break."""
    target = tmp_path / "ZZ"
    shutil.copytree(pack_dir("TEST"), target)
    toml = target / "country.toml"
    toml.write_text(toml.read_text().replace('code = "TEST"', 'code = "ZZ"'))
    for name in ("regions.csv", "postal_codes.csv", "population.csv", "facilities.csv"):
        path = target / name
        path.write_text(path.read_text().replace("TS-", "ZZ-"))
    return tmp_path


def _edit(packs: Path, name: str, old: str, new: str) -> None:
    path = packs / "ZZ" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _errors(packs: Path) -> list[str]:
    with pytest.raises(PackInvalid) as info:
        read_pack("ZZ", packs / "ZZ")
    return [str(e) for e in info.value.errors]


def test_it_loads_every_part_of_a_pack(packs: Path) -> None:
    result = country_load(pack=read_pack("ZZ", packs / "ZZ"))

    country = result.country
    assert result.changed
    assert country.names["hi"] == "टेस्टलैंड"
    assert Region.objects.filter(country=country).count() == 7  # the root and six regions
    district = Region.objects.get(code="ZZ-N-HIL")
    assert district.path == "/ZZ/ZZ-N/ZZ-N-HIL/"
    assert district.parent is not None and district.parent.code == "ZZ-N"
    assert district.names["ta"] == "மலை மாவட்டம்"
    assert PostalCode.objects.filter(country=country).count() == 6
    assert Population.objects.filter(region__country=country).count() == 32
    covishield = Vaccine.objects.get(country=country, code="COVISHIELD")
    assert [d.number for d in covishield.doses.all()] == [1, 2, 3]
    assert covishield.doses.get(number=3).kind == "precaution"
    assert country.facility_set.count() == 3
    assert AuditEvent.objects.filter(action="country.load", object_id=str(country.pk)).count() == 1


def test_it_changes_nothing_when_loaded_twice(packs: Path) -> None:
    country_load(pack=read_pack("ZZ", packs / "ZZ"))
    before = list(Region.objects.filter(country__code="ZZ").values_list("pk", "code", "number"))

    result = country_load(pack=read_pack("ZZ", packs / "ZZ"))

    assert not result.changed
    after = list(Region.objects.filter(country__code="ZZ").values_list("pk", "code", "number"))
    assert before == after


def test_it_updates_in_place_when_the_pack_changes(packs: Path) -> None:
    country_load(pack=read_pack("ZZ", packs / "ZZ"))
    hill = Region.objects.get(code="ZZ-N-HIL")
    _edit(packs, "regions.csv", "Hill District", "Highland District")
    _edit(packs, "postal_codes.csv", "110002,ZZ-N-HIL,Upper Hill\n", "")

    result = country_load(pack=read_pack("ZZ", packs / "ZZ"))

    assert result.changed
    renamed = Region.objects.get(code="ZZ-N-HIL")
    assert renamed.pk == hill.pk
    assert renamed.names["en"] == "Highland District"
    assert not PostalCode.objects.filter(country__code="ZZ", code="110002").exists()


def test_it_lets_regions_swap_numbers(packs: Path) -> None:
    country_load(pack=read_pack("ZZ", packs / "ZZ"))
    _edit(packs, "regions.csv", "ZZ-N-HIL,ZZ-N,district,101", "ZZ-N-HIL,ZZ-N,district,102")
    _edit(packs, "regions.csv", "ZZ-N-RIV,ZZ-N,district,102", "ZZ-N-RIV,ZZ-N,district,101")

    country_load(pack=read_pack("ZZ", packs / "ZZ"))

    assert Region.objects.get(code="ZZ-N-HIL").number == 102
    assert Region.objects.get(code="ZZ-N-RIV").number == 101


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("regions.csv", "ZZ-N-RIV,ZZ-N,", "ZZ-N-RIV,ZZ-X,", "regions.csv:5: parent 'ZZ-X'"),
        (
            "regions.csv",
            "ZZ-S-SEA,ZZ-S,district,201",
            "ZZ-S-SEA,ZZ-S,district,101",
            "regions.csv:6: number '101'",
        ),
        (
            "regions.csv",
            "ZZ-S-FOR,ZZ-S,district",
            "ZZ-S-FOR,ZZ-S,state",
            "regions.csv:7: level 'state'",
        ),
        ("regions.csv", "name_hi", "name_xx", "regions.csv:1: unknown columns: name_xx"),
        (
            "regions.csv",
            "102,River District,नदी ज़िला,ஆறு மாவட்டம்,28.700000,77.100000",
            "102,River District,नदी ज़िला,ஆறு மாவட்டம்,28.700000,",
            "regions.csv:5: lat and lng must both be given, or both left empty",
        ),
        (
            "regions.csv",
            "ஆறு மாவட்டம்,28.700000,",
            "ஆறு மாவட்டம்,98.700000,",
            "regions.csv:5: lat '98.700000' is out of range: -90 to 90",
        ),
        (
            "regions.csv",
            "28.700000,77.100000",
            "28.700000,-180.5",
            "regions.csv:5: lng '-180.5' is out of range: -180 to 180",
        ),
        (
            "regions.csv",
            "28.700000,77.100000",
            "28.7000001,77.100000",
            "regions.csv:5: lat '28.7000001' has more than 6 decimals",
        ),
        (
            "regions.csv",
            "28.700000,77.100000",
            "28.7N,77.100000",
            "regions.csv:5: lat '28.7N' is not decimal degrees",
        ),
        (
            "regions.csv",
            "28.700000,77.100000",
            "28.7,7.7e1",
            "regions.csv:5: lng '7.7e1' is not decimal degrees",
        ),
        (
            "regions.csv",
            "28.700000,77.100000",
            "NaN,77.1",
            "regions.csv:5: lat 'NaN' is not decimal degrees",
        ),
        ("postal_codes.csv", "120001,", "12001,", "postal_codes.csv:4: '12001' does not match"),
        ("postal_codes.csv", "600002,ZZ-S-SEA", "600002,ZZ-S-NOPE", "postal_codes.csv:6: region"),
        (
            "population.csv",
            "ZZ-N-HIL,0-17,male,",
            "ZZ-N-HIL,0-17,man,",
            "population.csv:2: sex 'man'",
        ),
        (
            "population.csv",
            "ZZ-N-HIL,18-44,female,",
            "ZZ-N-HIL,18-45,female,",
            "population.csv:5: age band '18-45'",
        ),
        (
            "facilities.csv",
            ",09:00,17:00",
            ",17:00,09:00",
            "facilities.csv:2: opens must be before",
        ),
        (
            "country.toml",
            "fair_window_minutes = 10",
            "fair_window_minutes = 10\nreminder_hour = 22",
            "reminder_hour must be a whole number from 0 to 20",
        ),
        (
            "country.toml",
            "fair_window_minutes = 10",
            "fair_window_minutes = 10\nwaitlist_offer_minutes = 0",
            "waitlist_offer_minutes must be a whole number from 1 to 1440",
        ),
        (
            "country.toml",
            'timezone = "Asia/Kolkata"',
            'timezone = "Mars/Olympus"',
            "country.toml:3: timezone 'Mars/Olympus'",
        ),
        ("country.toml", "[booking]", "[booking\n", "country.toml:38: not valid TOML"),
        (
            "vaccines.toml",
            'min_interval = "84d"',
            'min_interval = "84 days"',
            "vaccines.toml:17: vaccine 'COVISHIELD': dose 2: min_interval",
        ),
        ("vaccines.toml", "number = 3", "number = 4", "doses must be numbered 1, 2, 3"),
    ],
)
def test_it_names_the_file_the_line_and_the_reason(
    packs: Path, name: str, old: str, new: str, expected: str
) -> None:
    _edit(packs, name, old, new)

    errors = _errors(packs)

    assert any(expected in error for error in errors), errors


def test_it_loads_the_coordinates_of_regions(packs: Path) -> None:
    country_load(pack=read_pack("ZZ", packs / "ZZ"))

    river = Region.objects.get(code="ZZ-N-RIV")
    assert (river.latitude, river.longitude) == (Decimal("28.7"), Decimal("77.1"))
    assert river.location() == (Decimal("28.7"), Decimal("77.1"))
    assert Region.objects.get(code="ZZ-S-FOR").location() is None  # left empty in the pack
    assert Region.objects.get(code="ZZ").location() is None  # the country: not in regions.csv


def test_it_updates_the_coordinates_in_place(packs: Path) -> None:
    country_load(pack=read_pack("ZZ", packs / "ZZ"))
    river = Region.objects.get(code="ZZ-N-RIV")
    _edit(packs, "regions.csv", "28.700000,77.100000", "28.75,77.05")
    _edit(packs, "regions.csv", "தெற்கு மாநிலம்,13.080000,80.270000", "தெற்கு மாநிலம்,,")
    _edit(packs, "regions.csv", "காடு மாவட்டம்,,", "காடு மாவட்டம்,-0.5,-179.999999")

    result = country_load(pack=read_pack("ZZ", packs / "ZZ"))

    assert result.changed
    moved = Region.objects.get(code="ZZ-N-RIV")
    assert moved.pk == river.pk
    assert moved.location() == (Decimal("28.75"), Decimal("77.05"))
    assert Region.objects.get(code="ZZ-S").location() is None
    assert Region.objects.get(code="ZZ-S-FOR").location() == (
        Decimal("-0.5"),
        Decimal("-179.999999"),
    )


def test_it_accepts_regions_without_coordinate_columns(packs: Path) -> None:
    path = packs / "ZZ" / "regions.csv"
    path.write_text(
        "\n".join(line.rsplit(",", 2)[0] for line in path.read_text().splitlines()) + "\n"
    )

    country_load(pack=read_pack("ZZ", packs / "ZZ"))

    assert Region.objects.get(code="ZZ-N-HIL").names["en"] == "Hill District"
    assert not Region.objects.filter(country__code="ZZ", latitude__isnull=False).exists()


def test_it_refuses_a_lat_column_without_a_lng_column(packs: Path) -> None:
    path = packs / "ZZ" / "regions.csv"
    path.write_text(
        "\n".join(line.rsplit(",", 1)[0] for line in path.read_text().splitlines()) + "\n"
    )
    _edit(packs, "regions.csv", "ZZ-N-RIV,ZZ-N,", "ZZ-N-RIV,ZZ-X,")

    errors = _errors(packs)

    # The lone column is named once, and the rest of the file is still checked.
    assert errors[0] == "regions.csv:1: the columns lat and lng go together: give both or neither"
    assert any(e.startswith("regions.csv:5: parent 'ZZ-X'") for e in errors), errors
    assert len([e for e in errors if "lng" in e]) == 1


def test_it_reports_every_problem_at_once(packs: Path) -> None:
    _edit(packs, "postal_codes.csv", "120001,", "1,")
    _edit(packs, "population.csv", ",male,", ",robot,")

    errors = _errors(packs)

    assert any(e.startswith("postal_codes.csv:") for e in errors)
    assert any(e.startswith("population.csv:") for e in errors)


def test_it_refuses_a_pack_without_its_readme(packs: Path) -> None:
    (packs / "ZZ" / "README.md").unlink()

    assert any("README.md" in e for e in _errors(packs))


def test_it_writes_nothing_from_a_broken_pack(packs: Path) -> None:
    _edit(packs, "population.csv", ",male,", ",robot,")

    with override_settings(COUNTRY_PACKS_DIR=packs), pytest.raises(CommandError, match="nothing"):
        call_command("load_country", "ZZ")

    assert not Country.objects.filter(code="ZZ").exists()
    assert not Region.objects.filter(code__startswith="ZZ").exists()


def test_it_rolls_back_a_load_that_fails_half_way(
    packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    country_load(pack=read_pack("ZZ", packs / "ZZ"))
    _edit(packs, "regions.csv", "Hill District", "Highland District")
    pack = read_pack("ZZ", packs / "ZZ")

    def fail(*args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_load_population", fail)
    with pytest.raises(RuntimeError):
        country_load(pack=pack)

    assert Region.objects.get(code="ZZ-N-HIL").names["en"] == "Hill District"
    assert Population.objects.filter(region__country__code="ZZ").count() == 32


def test_it_loads_through_the_command_with_a_summary(
    packs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with override_settings(COUNTRY_PACKS_DIR=packs):
        call_command("load_country", "zz")
        call_command("load_country", "ZZ")

    out = capsys.readouterr().out
    assert "ZZ: loaded" in out
    assert "6 regions" in out
    assert "ZZ: already up to date." in out


@pytest.mark.parametrize("code", ["IN", "KE"])
def test_it_accepts_the_shipped_packs(code: str) -> None:
    if not (pack_dir(code) / "country.toml").exists():
        pytest.fail(f"the {code} pack is missing")

    pack = read_pack(code)

    assert pack.regions and pack.vaccines and pack.id_types


@pytest.mark.parametrize(("code", "without"), [("IN", set()), ("KE", {"Kisumu West", "Seme"})])
def test_it_gives_the_shipped_regions_coordinates(code: str, without: set[str]) -> None:
    regions = read_pack(code).regions

    missing = {r["names"]["en"] for r in regions if r["latitude"] is None}
    assert missing == without
    # Every first-level region (state, county) has its headquarters.
    assert all(r["latitude"] is not None for r in regions if r["depth"] == 1)


@pytest.mark.parametrize(
    ("codes", "reason"),
    [
        ('{ cvx = "" }', "codes must map some of"),
        ('{ loinc = "1" }', "codes must map some of"),
        ('{ eu_tg = "840539006", eu_mp = "Covishield" }', "give all four EU DCC codes"),
    ],
)
def test_it_refuses_incomplete_or_unknown_certificate_codes(
    packs: Path, codes: str, reason: str
) -> None:
    old = (
        'codes = { eu_tg = "840539006", eu_vp = "29061000087103", eu_mp = "Covishield", '
        'eu_ma = "ORG-100001981", cvx = "210" }'
    )
    _edit(packs, "vaccines.toml", old, f"codes = {codes}")

    assert any(reason in e for e in _errors(packs))
