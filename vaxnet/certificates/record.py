"""What a certificate says: the WHO DDCC:VS core data set, as every format encodes it.

A `CertificateRecord` is built from the database once, when the certificate is signed, and
kept with it; the three formats and the PDF are all derived from that one record.
"""

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class DoseEntry:
    """One dose as a certificate lists it."""

    number: int  # n of "dose n of m"
    series: int  # m: the doses of the primary series, or n itself for a booster
    kind: str  # primary | booster | precaution (the schedule's kind of dose)
    vaccine_code: str  # the pack's product code, such as COVISHIELD
    vaccine_name: str  # the product's name as the pack gives it (the brand)
    manufacturer: str
    lot: str
    given_on: date
    facility: str
    region: str  # the district (or lowest level) the facility is in
    country: str  # ISO 3166-1 alpha-2 of the country that gave the dose
    target: str  # the pack's disease key, such as covid19
    # Standard codes from the pack: eu_mp, eu_ma, eu_vp, eu_tg (EU DCC value sets),
    # cvx, snomed (SMART Health Cards), icd11 (DDCC); a format leaves out what is absent.
    codes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CertificateRecord:
    """Everything a certificate holds, independent of format."""

    certificate_id: str  # a UVCI: URN:UVCI:01:<CC>:<opaque>#<check character>
    kind: str  # provisional | final | booster
    version: int  # 1 for the person's first certificate for this disease, then 2, 3…
    issued_at: datetime  # aware, UTC
    name: str  # as registered, in its original script
    name_latin: str  # ICAO 9303 transliteration: A–Z and "<" only
    birth_date: str  # YYYY-MM-DD, or YYYY where only the year is known
    sex: str  # male | female | other
    masked_id: str  # "XXXX XXXX 1234"
    id_type: str  # the pack's ID document code, such as aadhaar
    reference: str  # the beneficiary reference number
    doses: tuple[DoseEntry, ...]
    issuer: str  # the issuing authority's name (English)
    issuer_country: str  # ISO 3166-1 alpha-2
    issuer_url: str  # where the issuer publishes its keys: https://…, no trailing slash
    target: str  # the disease the certificate is for (the pack's key)

    @property
    def last_dose(self) -> DoseEntry:
        """Return the most recent dose the certificate lists."""
        return self.doses[-1]

    def as_json(self) -> dict[str, Any]:
        """Return the record as JSON-safe data, to keep with the certificate."""
        data = asdict(self)
        data["issued_at"] = self.issued_at.isoformat()
        for dose in data["doses"]:
            dose["given_on"] = dose["given_on"].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CertificateRecord":
        """Return the record kept by `as_json`."""
        doses = tuple(
            DoseEntry(**{**d, "given_on": date.fromisoformat(d["given_on"])}) for d in data["doses"]
        )
        return cls(
            **{
                **data,
                "issued_at": datetime.fromisoformat(data["issued_at"]),
                "doses": doses,
            }
        )
