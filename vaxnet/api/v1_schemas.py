"""The v1 API's request and answer schemas: one pair per endpoint, no "all fields" schemas."""

from datetime import date
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text: refuse it as bad input, not a server error.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Phone = Annotated[str, Field(max_length=32), NoNul]
Language = Annotated[str, Field(max_length=10), NoNul]
Txn = Annotated[str, Field(max_length=40), NoNul]
Code = Annotated[str, Field(max_length=16), NoNul]
Name = Annotated[str, Field(max_length=200), NoNul]
Sex = Annotated[str, Field(max_length=10), NoNul]
IdType = Annotated[str, Field(max_length=40), NoNul]
IdNumber = Annotated[str, Field(max_length=64), NoNul]
SessionId = Annotated[str, Field(max_length=16), NoNul]
SlotStart = Annotated[str, Field(max_length=5, description="a slot's start time, HH:MM"), NoNul]
Reference = Annotated[str, Field(max_length=14), NoNul]


# Errors


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorDetail


# Sign-in


class OtpIn(Schema):
    phone: Phone
    language: Language = ""


class OtpOut(Schema):
    txn: str
    expires_in: int


class TokenIn(Schema):
    txn: Txn
    code: Code


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int


# Beneficiaries


class BeneficiaryIn(Schema):
    name: Name
    sex: Sex
    birth_year: int
    birth_date: date | None = None
    id_type: IdType
    id_number: IdNumber


class BeneficiaryChangeIn(Schema):
    name: Name | None = None
    sex: Sex | None = None
    birth_year: int | None = None
    birth_date: date | None = None
    id_type: IdType | None = None
    id_number: IdNumber | None = None


class BeneficiaryOut(Schema):
    reference: str
    name: str
    sex: str
    birth_year: int
    birth_date: date | None
    id_type: str
    id_number: str = Field(description="Masked: only the last 4 characters are shown.")


class BeneficiariesOut(Schema):
    beneficiaries: list[BeneficiaryOut]


# Sessions


class SessionsQuery(Schema):
    district: str = ""
    postal_code: str = ""
    date: str = ""
    days: str = ""
    vaccine: str = ""
    fee: str = ""
    age: Annotated[str, Field(max_length=40, description="whole years"), NoNul] = ""
    dose: Annotated[str, Field(max_length=40, description="a dose number"), NoNul] = ""
    lat: Annotated[str, Field(max_length=40, description="decimal degrees"), NoNul] = ""
    long: Annotated[str, Field(max_length=40, description="decimal degrees"), NoNul] = ""
    lng: Annotated[str, Field(max_length=40, description="the same as long"), NoNul] = ""
    radius: Annotated[
        str, Field(max_length=40, description="km around lat/long, 1 to 50; 10 by default"), NoNul
    ] = ""
    beneficiary: Annotated[
        str,
        Field(max_length=40, description="with a bearer token: one of the account's members"),
        NoNul,
    ] = ""


class DoseOut(Schema):
    number: int
    available: int


class SlotOut(Schema):
    start: str = Field(description="HH:MM, the value to book with")
    end: str
    seats: int


class SessionOut(Schema):
    id: str
    date: date
    vaccine: str
    vaccine_name: str
    fee: str
    min_age: int
    max_age: int | None
    available: int
    doses: list[DoseOut]
    slots: list[SlotOut]
    beneficiary_dose: int | None = Field(
        None, description="with `beneficiary`: the dose that member would receive"
    )


class CentreOut(Schema):
    code: str
    name: str
    address: str
    postal_code: str
    district: str
    state: str
    distance_km: float | None = Field(description="from lat/long; null for other searches")
    sessions: list[SessionOut]


class SessionsOut(Schema):
    date_from: date
    date_to: date
    centres: list[CentreOut]


# Appointments


class BookIn(Schema):
    session: SessionId
    slot: SlotStart
    beneficiaries: list[Reference] = Field(min_length=1, max_length=20)


class RescheduleIn(Schema):
    session: SessionId
    slot: SlotStart


class AppointmentOut(Schema):
    id: str
    beneficiary: str
    name: str
    session: str
    centre: str
    date: date
    slot_start: str | None
    slot_end: str | None
    vaccine: str
    dose: int
    status: str
    security_code: str


class AppointmentsOut(Schema):
    appointments: list[AppointmentOut]
