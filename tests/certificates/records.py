"""Certificate records for format and PDF tests: one sample person, changed where a test needs."""

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from vaxnet.certificates.record import CertificateRecord, DoseEntry

FIRST_GIVEN_ON = date(2021, 5, 3)
SECOND_GIVEN_ON = date(2021, 7, 29)


def covishield_dose(number: int, given_on: date, **changes: Any) -> DoseEntry:
    """Return COVISHIELD primary dose `number` of 2, given in India."""
    dose = DoseEntry(
        number=number,
        series=2,
        kind="primary",
        vaccine_code="COVISHIELD",
        vaccine_name="Covishield",
        manufacturer="Serum Institute of India",
        lot=f"4121Z0{number}5",
        given_on=given_on,
        facility="Hill Town Primary Health Centre",
        region="Hill District",
        country="IN",
        target="covid19",
    )
    return replace(dose, **changes)


def sample_record(*doses: DoseEntry, **changes: Any) -> CertificateRecord:
    """Return a final certificate for the doses given (two COVISHIELD doses if none)."""
    record = CertificateRecord(
        certificate_id="URN:UVCI:01:IN:7F3K9QW2XH4M#K",
        kind="final",
        version=1,
        issued_at=datetime(2021, 8, 2, 9, 30, tzinfo=UTC),
        name="Asha Devi",
        name_latin="DEVI<<ASHA",
        birth_date="1985-04-12",
        sex="female",
        masked_id="XXXX XXXX 1234",
        id_type="aadhaar",
        reference="12345678901234",
        doses=doses or (covishield_dose(1, FIRST_GIVEN_ON), covishield_dose(2, SECOND_GIVEN_ON)),
        issuer="Ministry of Health and Family Welfare",
        issuer_country="IN",
        issuer_url="https://verify.example.in",
        target="covid19",
    )
    return replace(record, **changes)
