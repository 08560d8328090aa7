"""Reading and validating a country pack; nothing here touches the database.

Every problem is collected with its file and line, so that a pack author sees
all of them at once, and a broken pack is refused before anything is written.
"""

import csv
import hashlib
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings
from django.conf.locale import LANG_INFO

from vaxnet.vaccines.durations import parse_duration

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
ID_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
SEXES = ("male", "female", "other")
NORMALISE = ("digits", "upper", "none")
CHECKS = ("none", "verhoeff", "luhn")
VACCINE_KINDS = ("campaign", "routine")
DOSE_KINDS = ("primary", "booster", "precaution")
# Standard codes a vaccine may carry for certificates: EU DCC value sets (disease, prophylaxis,
# product, marketing authorisation holder), CVX and SNOMED CT (SMART Health Cards), ICD-11.
CERTIFICATE_CODES = ("eu_tg", "eu_vp", "eu_mp", "eu_ma", "cvx", "snomed", "icd11")
FACILITY_KINDS = ("public", "private")
AGE_BAND = re.compile(r"(\d{1,3})-(\d{1,3})|(\d{1,3})\+")
# Decimal degrees, plain notation (no exponent, no NaN); the decimals are checked apart.
COORDINATE = re.compile(r"-?\d{1,3}(\.\d+)?")
COORDINATE_DECIMALS = 6  # about 0.1 m: as precise as the database keeps them


@dataclass(frozen=True)
class PackError:
    """One problem in a pack: where it is and what is wrong."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.reason}"
            if self.line
            else f"{self.file}: {self.reason}"
        )


class PackInvalid(Exception):
    """The pack was refused; `errors` lists every problem found."""

    def __init__(self, errors: list[PackError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class Pack:
    """A validated country pack, ready to load."""

    code: str
    country: dict[str, Any]
    id_types: list[dict[str, Any]]
    vaccines: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    postal_codes: list[dict[str, Any]]
    population: list[dict[str, Any]]
    facilities: list[dict[str, Any]]
    digest: str
    files: list[str] = field(default_factory=list)


def pack_dir(code: str) -> Path:
    """Return the folder of a pack shipped with vaxnet."""
    return Path(settings.COUNTRY_PACKS_DIR) / code.upper()


class _Reader:
    """Collects errors while reading the files of one pack."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.errors: list[PackError] = []
        self.texts: dict[str, str] = {}

    def error(self, file: str, line: int, reason: str) -> None:
        self.errors.append(PackError(file, line, reason))

    def text(self, name: str, required: bool) -> str | None:
        path = self.folder / name
        if not path.exists():
            if required:
                self.error(name, 0, "the file is missing")
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.error(name, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
            return None
        self.texts[name] = text
        return text

    def toml(self, name: str) -> dict[str, Any]:
        text = self.text(name, required=True)
        if text is None:
            return {}
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            self.error(name, int(match.group(1)) if match else 0, f"not valid TOML: {exc}")
            return {}

    def line_of(self, name: str, needle: str, after: int = 0) -> int:
        """Return the first line (past `after`) of a file that mentions a value, else `after`."""
        for number, line in enumerate(self.texts.get(name, "").splitlines(), start=1):
            if number > after and needle in line:
                return number
        return after

    def csv_rows(
        self, name: str, required: bool, columns: set[str], optional: set[str]
    ) -> list[tuple[int, dict[str, str]]]:
        text = self.text(name, required)
        if text is None:
            return []
        reader = csv.DictReader(text.splitlines())
        header = set(reader.fieldnames or [])
        missing = columns - header
        unknown = header - columns - optional
        if missing:
            self.error(name, 1, f"missing columns: {', '.join(sorted(missing))}")
        if unknown:
            self.error(name, 1, f"unknown columns: {', '.join(sorted(unknown))}")
        if missing or unknown:
            return []
        rows = []
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                self.error(name, reader.line_num, "wrong number of fields")
                continue
            rows.append((reader.line_num, {k: v.strip() for k, v in row.items()}))
        return rows


def _names(value: Any, languages: list[str]) -> dict[str, str] | None:
    """Return a names table if it is one with the default language filled in."""
    if not isinstance(value, dict) or not languages:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return None
    if not value.get(languages[0], "").strip():
        return None
    return {k: v.strip() for k, v in value.items() if k in languages and v.strip()}


def _pattern(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        re.compile(value)
    except re.error:
        return None
    return value


def _duration(value: Any) -> str | bool | None:
    """Return a valid duration string, '' for none, or False when invalid."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value)
    except ValueError:
        return False
    return value


def _age_band_ok(band: str) -> bool:
    match = AGE_BAND.fullmatch(band)
    if not match:
        return False
    return not (match.group(1) and int(match.group(1)) > int(match.group(2)))


def read_pack(code: str, folder: Path | None = None) -> Pack:
    """Read and validate a pack; raise PackInvalid listing every problem found."""
    folder = folder or pack_dir(code)
    r = _Reader(folder)
    if not folder.is_dir():
        raise PackInvalid([PackError(str(folder), 0, "no such pack folder")])

    country = _read_country(r, code)
    if r.errors and not country.get("config"):
        raise PackInvalid(r.errors)  # everything else is read against country.toml
    languages: list[str] = country.get("languages", [])
    id_types = _read_id_types(r, country, languages)
    vaccines = _read_vaccines(r, languages)
    regions = _read_regions(r, country, languages)
    region_codes = {row["code"]: row for row in regions}
    postal_codes = _read_postal_codes(r, country, region_codes)
    population = _read_population(r, country, region_codes)
    facilities = _read_facilities(r, languages, region_codes, {p["code"] for p in postal_codes})
    if not (folder / "README.md").exists():
        r.error("README.md", 0, "the file is missing (it must name the sources of the facts)")

    if r.errors:
        raise PackInvalid(r.errors)
    digest = hashlib.sha256()
    for name in sorted(r.texts):
        digest.update(name.encode() + b"\0" + r.texts[name].encode() + b"\0")
    return Pack(
        code=code.upper(),
        country=country,
        id_types=id_types,
        vaccines=vaccines,
        regions=regions,
        postal_codes=postal_codes,
        population=population,
        facilities=facilities,
        digest=digest.hexdigest(),
        files=sorted(r.texts),
    )


def _read_country(r: _Reader, code: str) -> dict[str, Any]:
    name = "country.toml"
    data = r.toml(name)
    if not data:
        return {}
    out: dict[str, Any] = {}

    def err(key: str, reason: str) -> None:
        r.error(name, r.line_of(name, key), reason)

    if data.get("code") != code.upper():
        err("code", f"code must be {code.upper()!r}, the folder's name")
    languages = data.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(lang, str) and lang in LANG_INFO for lang in languages)
    ):
        err("languages", "languages must be a non-empty list of language codes such as en, hi")
        languages = ["en"]
    out["languages"] = languages
    tz = data.get("timezone")
    try:
        zoneinfo.ZoneInfo(str(tz))
        out["timezone"] = tz
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        err("timezone", f"timezone {tz!r} is not an IANA time zone such as Asia/Kolkata")
    phone = data.get("phone_region")
    if not isinstance(phone, str) or phonenumbers.country_code_for_region(phone) == 0:
        err("phone_region", f"phone_region {phone!r} is not a phone region such as IN")
    out["phone_region"] = phone
    currency = data.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        err("currency", "currency must be an ISO 4217 code such as INR")
    out["currency"] = currency
    names = _names(data.get("name"), languages)
    if names is None:
        err("[name]", f"[name] must give the country's name, at least in {languages[0]!r}")
    out["names"] = names or {}

    levels = data.get("levels")
    out_levels = []
    if not isinstance(levels, list) or not levels:
        err("[[levels]]", "at least one [[levels]] table is needed")
    else:
        keys = set()
        for level in levels:
            key = level.get("key") if isinstance(level, dict) else None
            level_names = _names(level.get("name"), languages) if isinstance(level, dict) else None
            if not isinstance(key, str) or not ID_TYPE_PATTERN.fullmatch(key) or key in keys:
                err("key", f"level key {key!r} must be unique, lower case, like 'district'")
                continue
            if level_names is None:
                err(f'"{key}"', f"level {key!r} needs a name in {languages[0]!r}")
                continue
            keys.add(key)
            out_levels.append({"key": key, "name": level_names})
    postal = data.get("postal_code", {})
    postal_pattern = _pattern(postal.get("pattern")) if isinstance(postal, dict) else None
    if postal_pattern is None:
        err("[postal_code]", "[postal_code] needs a pattern that is a valid regular expression")
    booking = data.get("booking", {})
    for key, low in (
        ("beneficiaries_per_account", 1),
        ("same_day_cutoff_hour", 0),
        ("fair_window_minutes", 0),
    ):
        value = booking.get(key) if isinstance(booking, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            err(key, f"[booking] {key} must be a whole number of at least {low}")
    if isinstance(booking, dict) and booking.get("same_day_cutoff_hour", 0) > 24:
        err("same_day_cutoff_hour", "[booking] same_day_cutoff_hour must be 0 to 24")
    # Optional: (key, lowest, highest).
    for key, low, high in (("waitlist_offer_minutes", 1, 1440), ("reminder_hour", 0, 20)):
        value = booking.get(key) if isinstance(booking, dict) else None
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            err(key, f"[booking] {key} must be a whole number from {low} to {high}")
    certificate = data.get("certificate", {})
    if not isinstance(certificate, dict) or _names(certificate.get("issuer"), languages) is None:
        err("[certificate]", f"[certificate] issuer needs a name in {languages[0]!r}")
    population = data.get("population", {})
    bands = population.get("age_bands") if isinstance(population, dict) else None
    if (
        not isinstance(bands, list)
        or not bands
        or not all(isinstance(b, str) and _age_band_ok(b) for b in bands)
    ):
        err("age_bands", '[population] age_bands must list bands like "18-44" and "60+"')
    out["config"] = {
        "levels": out_levels,
        "postal_code": postal if isinstance(postal, dict) else {},
        "booking": booking if isinstance(booking, dict) else {},
        "certificate": certificate if isinstance(certificate, dict) else {},
        "population": population if isinstance(population, dict) else {},
    }
    out["raw_id_types"] = data.get("id_types", [])
    return out


def _read_id_types(r: _Reader, country: dict[str, Any], languages: list[str]) -> list[dict]:
    name = "country.toml"
    raw = country.pop("raw_id_types", [])
    if not isinstance(raw, list) or not raw:
        if country:
            r.error(name, 0, "at least one [[id_types]] table is needed")
        return []
    out, seen = [], set()
    for position, item in enumerate(raw):
        code = item.get("code") if isinstance(item, dict) else None
        line = r.line_of(name, f'"{code}"')
        if not isinstance(code, str) or not ID_TYPE_PATTERN.fullmatch(code) or code in seen:
            r.error(
                name, line, f"id type code {code!r} must be unique, lower case, like 'passport'"
            )
            continue
        seen.add(code)
        names = _names(item.get("name"), languages)
        pattern = _pattern(item.get("pattern"))
        normalise = item.get("normalise", "upper")
        check = item.get("check", "none")
        if names is None:
            r.error(name, line, f"id type {code!r} needs a name in {languages[0]!r}")
        if pattern is None:
            r.error(name, line, f"id type {code!r} needs a pattern that is a regular expression")
        if normalise not in NORMALISE:
            r.error(
                name, line, f"id type {code!r}: normalise must be one of {', '.join(NORMALISE)}"
            )
        if check not in CHECKS:
            r.error(name, line, f"id type {code!r}: check must be one of {', '.join(CHECKS)}")
        out.append(
            {
                "code": code,
                "names": names or {},
                "pattern": pattern or "",
                "normalise_mode": normalise,
                "check_digit": check,
                "position": position,
            }
        )
    return out


def _read_vaccines(r: _Reader, languages: list[str]) -> list[dict[str, Any]]:
    name = "vaccines.toml"
    data = r.toml(name)
    raw = data.get("vaccine") if data else None
    if not isinstance(raw, list) or not raw:
        if data:
            r.error(name, 0, "at least one [[vaccine]] table is needed")
        return []
    out: list[dict[str, Any]] = []
    codes = [v.get("code") for v in raw if isinstance(v, dict)]
    seen: set[str] = set()
    for item in raw:
        code = item.get("code")
        line = r.line_of(name, f'"{code}"')

        def err(reason: str, code: Any = code, line: int = line) -> None:
            r.error(name, line, f"vaccine {code!r}: {reason}")

        if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code) or code in seen:
            err("code must be unique, upper-case letters, digits, - and _")
            continue
        seen.add(code)
        vaccine: dict[str, Any] = {"code": code}
        for key in ("name", "target"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                err(f"{key} is required")
            vaccine[key] = str(item.get(key, "")).strip()
        vaccine["manufacturer"] = str(item.get("manufacturer", "")).strip()
        vaccine["names"] = _names(item.get("names"), languages) or {} if "names" in item else {}
        kind = item.get("kind")
        if kind not in VACCINE_KINDS:
            err(f"kind must be one of {', '.join(VACCINE_KINDS)}")
        vaccine["kind"] = kind
        for key in ("min_age", "max_age"):
            value = _duration(item.get(key))
            if value is False:
                err(f"{key} {item.get(key)!r} is not a duration such as 18y or 9m")
            vaccine[key] = value or ""
        per_vial = item.get("doses_per_vial", 1)
        if not isinstance(per_vial, int) or isinstance(per_vial, bool) or per_vial < 1:
            err("doses_per_vial must be a whole number of at least 1")
        vaccine["doses_per_vial"] = per_vial
        mix_with = item.get("mix_with", [])
        if not isinstance(mix_with, list) or any(m not in codes or m == code for m in mix_with):
            err("mix_with must list other vaccine codes of this pack")
            mix_with = []
        vaccine["mix_with"] = mix_with
        standard = item.get("codes", {})
        if not isinstance(standard, dict) or any(
            k not in CERTIFICATE_CODES or not isinstance(v, str) or not v.strip()
            for k, v in standard.items()
        ):
            err(f"codes must map some of {', '.join(CERTIFICATE_CODES)} to non-empty strings")
            standard = {}
        eu = {k for k in standard if k.startswith("eu_")}
        if eu and eu != {"eu_tg", "eu_vp", "eu_mp", "eu_ma"}:
            err("codes: give all four EU DCC codes (eu_tg, eu_vp, eu_mp, eu_ma) or none")
        vaccine["codes"] = {k: v.strip() for k, v in standard.items()}
        doses = item.get("dose")
        vaccine["doses"] = []
        if not isinstance(doses, list) or not doses:
            err("at least one [[vaccine.dose]] is needed")
            continue
        for expected, dose in enumerate(doses, start=1):
            if dose.get("number") != expected:
                err(f"doses must be numbered 1, 2, 3… in order; found {dose.get('number')!r}")
                break
            row = {"number": expected, "kind": dose.get("kind", "primary")}
            if row["kind"] not in DOSE_KINDS:
                err(f"dose {expected}: kind must be one of {', '.join(DOSE_KINDS)}")
            for key in ("min_interval", "max_interval", "min_age", "max_age"):
                value = _duration(dose.get(key))
                if value is False:
                    err(
                        f"dose {expected}: {key} {dose.get(key)!r} is not a duration like 28d",
                        line=r.line_of(name, f"{key} = {dose.get(key)!r}".replace("'", '"'), line),
                    )
                row[key] = value or ""
            if expected == 1 and row["min_interval"]:
                err("dose 1 cannot have a min_interval: there is no earlier dose")
            same = dose.get("same_product", False)
            if not isinstance(same, bool):
                err(f"dose {expected}: same_product must be true or false")
            row["same_product"] = bool(same)
            vaccine["doses"].append(row)
        out.append(vaccine)
    return out


def _name_columns(languages: list[str]) -> tuple[set[str], set[str]]:
    required = {f"name_{languages[0]}"} if languages else set()
    optional = {f"name_{lang}" for lang in languages[1:]}
    return required, optional


def _row_names(row: dict[str, str], languages: list[str]) -> dict[str, str]:
    return {lang: row[f"name_{lang}"] for lang in languages if row.get(f"name_{lang}")}


def _read_regions(
    r: _Reader, country: dict[str, Any], languages: list[str]
) -> list[dict[str, Any]]:
    name = "regions.csv"
    names_required, names_optional = _name_columns(languages)
    rows = r.csv_rows(
        name,
        True,
        {"code", "parent", "level", "number"} | names_required,
        names_optional | {"lat", "lng"},
    )
    if rows and ("lat" in rows[0][1]) != ("lng" in rows[0][1]):
        r.error(name, 1, "the columns lat and lng go together: give both or neither")
        for _line, row in rows:  # read the rest, so that every other problem is reported too
            row.pop("lat", None)
            row.pop("lng", None)
    levels = [lvl["key"] for lvl in country.get("config", {}).get("levels", [])]
    out: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    numbers: set[int] = set()
    for line, row in rows:
        latitude, longitude = _region_location(r, name, line, row)
        code, parent_code, level = row["code"], row["parent"], row["level"]
        if not CODE_PATTERN.fullmatch(code) or code in by_code:
            r.error(name, line, f"code {code!r} must be unique: upper case, digits, - and _")
            continue
        try:
            number = int(row["number"])
            if number < 1 or number in numbers:
                raise ValueError
        except ValueError:
            r.error(name, line, f"number {row['number']!r} must be a unique positive integer")
            continue
        if parent_code:
            parent = by_code.get(parent_code)
            if parent is None:
                r.error(name, line, f"parent {parent_code!r} is not listed above this row")
                continue
            depth = parent["depth"] + 1
        else:
            parent, depth = None, 1
        if depth > len(levels) or levels[depth - 1] != level:
            expected = levels[depth - 1] if depth <= len(levels) else "none (too deep)"
            r.error(name, line, f"level {level!r} does not fit here; expected {expected!r}")
            continue
        names = _row_names(row, languages)
        if not languages or languages[0] not in names:
            r.error(name, line, f"name_{languages[0] if languages else 'en'} is empty")
            continue
        numbers.add(number)
        record = {
            "code": code,
            "parent": parent_code or None,
            "level": level,
            "depth": depth,
            "number": number,
            "names": names,
            "latitude": latitude,
            "longitude": longitude,
        }
        by_code[code] = record
        out.append(record)
    return out


def _region_location(
    r: _Reader, name: str, line: int, row: dict[str, str]
) -> tuple[Decimal | None, Decimal | None]:
    """Return a region's (lat, lng), both None when it has none; report what is wrong."""
    lat, lng = row.get("lat", ""), row.get("lng", "")
    if not lat and not lng:
        return None, None
    if not lat or not lng:
        r.error(name, line, "lat and lng must both be given, or both left empty")
        return None, None
    values: list[Decimal] = []
    for key, value, limit in (("lat", lat, 90), ("lng", lng, 180)):
        if not COORDINATE.fullmatch(value):
            r.error(name, line, f"{key} {value!r} is not decimal degrees like 13.0827")
        elif len(value.partition(".")[2]) > COORDINATE_DECIMALS:
            r.error(name, line, f"{key} {value!r} has more than {COORDINATE_DECIMALS} decimals")
        elif abs(Decimal(value)) > limit:
            r.error(name, line, f"{key} {value!r} is out of range: -{limit} to {limit}")
        else:
            values.append(Decimal(value))
    if len(values) != 2:
        return None, None
    return values[0], values[1]


def _read_postal_codes(
    r: _Reader, country: dict[str, Any], regions: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    name = "postal_codes.csv"
    rows = r.csv_rows(name, False, {"code", "region"}, {"place"})
    pattern = country.get("config", {}).get("postal_code", {}).get("pattern") or ".*"
    out, seen = [], set()
    for line, row in rows:
        code = row["code"]
        if not re.fullmatch(pattern, code):
            r.error(name, line, f"{code!r} does not match the postal code pattern {pattern}")
        elif code in seen:
            r.error(name, line, f"{code!r} is listed twice")
        elif row["region"] not in regions:
            r.error(name, line, f"region {row['region']!r} is not in regions.csv")
        else:
            seen.add(code)
            out.append({"code": code, "region": row["region"], "place": row.get("place", "")})
    return out


def _read_population(
    r: _Reader, country: dict[str, Any], regions: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    name = "population.csv"
    rows = r.csv_rows(name, False, {"region", "age_band", "sex", "population"}, set())
    bands = set(country.get("config", {}).get("population", {}).get("age_bands") or [])
    out, seen = [], set()
    for line, row in rows:
        key = (row["region"], row["age_band"], row["sex"])
        if row["region"] not in regions:
            r.error(name, line, f"region {row['region']!r} is not in regions.csv")
        elif row["age_band"] not in bands:
            r.error(name, line, f"age band {row['age_band']!r} is not in [population] age_bands")
        elif row["sex"] not in SEXES:
            r.error(name, line, f"sex {row['sex']!r} must be one of {', '.join(SEXES)}")
        elif not row["population"].isdigit():
            r.error(name, line, f"population {row['population']!r} must be a whole number")
        elif key in seen:
            r.error(name, line, "this region, age band and sex are listed twice")
        else:
            seen.add(key)
            out.append(
                {
                    "region": row["region"],
                    "age_band": row["age_band"],
                    "sex": row["sex"],
                    "count": int(row["population"]),
                }
            )
    return out


def _parse_time(value: str) -> time | None:
    try:
        return time.fromisoformat(value) if re.fullmatch(r"\d\d:\d\d", value) else None
    except ValueError:
        return None


def _read_facilities(
    r: _Reader, languages: list[str], regions: dict[str, dict[str, Any]], postal: set[str]
) -> list[dict[str, Any]]:
    name = "facilities.csv"
    names_required, names_optional = _name_columns(languages)
    rows = r.csv_rows(
        name,
        False,
        {"code", "kind", "region"} | names_required,
        names_optional | {"postal_code", "address", "lat", "lng", "opens", "closes"},
    )
    out, seen = [], set()
    for line, row in rows:
        code = row["code"]
        problems = []
        if not CODE_PATTERN.fullmatch(code) or code in seen:
            problems.append(f"code {code!r} must be unique: upper case, digits, - and _")
        if row["kind"] not in FACILITY_KINDS:
            problems.append(f"kind must be one of {', '.join(FACILITY_KINDS)}")
        if row["region"] not in regions:
            problems.append(f"region {row['region']!r} is not in regions.csv")
        if row.get("postal_code") and row["postal_code"] not in postal:
            problems.append(f"postal code {row['postal_code']!r} is not in postal_codes.csv")
        coords: list[Decimal | None] = []
        for key, limit in (("lat", 90), ("lng", 180)):
            value = row.get(key, "")
            try:
                number = Decimal(value) if value else None
            except InvalidOperation:
                number = Decimal(1000)
            if number is not None and abs(number) > limit:
                problems.append(f"{key} {value!r} is not a coordinate")
            coords.append(number)
        opens = _parse_time(row.get("opens", "")) if row.get("opens") else None
        closes = _parse_time(row.get("closes", "")) if row.get("closes") else None
        if (row.get("opens") and opens is None) or (row.get("closes") and closes is None):
            problems.append("opens and closes must be times like 09:00")
        elif opens and closes and opens >= closes:
            problems.append("opens must be before closes")
        names = _row_names(row, languages)
        if not languages or languages[0] not in names:
            problems.append(f"name_{languages[0] if languages else 'en'} is empty")
        for problem in problems:
            r.error(name, line, problem)
        if problems:
            continue
        seen.add(code)
        out.append(
            {
                "code": code,
                "names": names,
                "kind": row["kind"],
                "region": row["region"],
                "postal_code": row.get("postal_code", ""),
                "address": row.get("address", ""),
                "latitude": coords[0],
                "longitude": coords[1],
                "opens_at": opens,
                "closes_at": closes,
            }
        )
    return out
