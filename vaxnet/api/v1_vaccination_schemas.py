"""The v1 facility-day API's request and answer schemas (vaxnet.api.v1_vaccination, v1_sync)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field, model_validator

from vaxnet.api.v1_schemas import IdNumber, IdType, Language, Name, NoNul, Phone, Sex
from vaxnet.vaccination.sync import MAX_ITEMS

PublicId = Annotated[str, Field(min_length=1, max_length=16), NoNul]
Reference = Annotated[str, Field(min_length=1, max_length=16), NoNul]
Text = Annotated[str, Field(max_length=300), NoNul]
Short = Annotated[str, Field(max_length=20), NoNul]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("give the time with its zone")
    return moment


AwareTime = Annotated[datetime, AfterValidator(_aware)]


class BatchLeftOut(Schema):
    batch: str
    lot_number: str
    expires_on: date
    doses_left: int
    closed: bool


class DaySessionOut(Schema):
    id: str
    date: date
    vaccine: str
    status: str
    booked: int
    checked_in: int
    vaccinated: int
    onsite_left: int
    batches: list[BatchLeftOut]
    suggested_batch: str | None = Field(description="first expiry first, with doses left")


class DaySessionsOut(Schema):
    sessions: list[DaySessionOut]


class FoundOut(Schema):
    id: str = Field(description="the appointment's public id")
    beneficiary: str
    name: str
    id_type: str
    id_number: str = Field(description="masked: only the last 4 characters")
    dose: int
    status: str
    channel: str


class FoundListOut(Schema):
    appointments: list[FoundOut]


class CheckInIn(Schema):
    id_number: IdNumber
    security_code: Annotated[str, Field(max_length=8), NoNul] = ""


class WalkInIn(Schema):
    name: Name
    sex: Sex
    birth_year: int = Field(ge=1800, le=3000)
    birth_date: date | None = None
    id_type: IdType
    id_number: IdNumber
    phone: Phone = ""
    language: Language = ""


class QueuedOut(Schema):
    id: str
    beneficiary: str
    name: str
    checked_in_at: datetime | None
    dose: int | None = Field(description="the dose the eligibility engine gives today")
    refusal: str = Field(description="why the engine gives none, if it does not")


class QueueOut(Schema):
    queue: list[QueuedOut]


class VaccinationIn(Schema):
    batch: PublicId
    site: Short


class VaccinationOut(Schema):
    id: str
    appointment: str | None
    beneficiary: str
    dose: int
    batch: str
    lot_number: str
    site: str
    given_at: datetime
    source: str


class NotGivenIn(Schema):
    kind: Short
    reason: Short
    note: Text = ""
    until: date | None = None


class NotGivenOut(Schema):
    id: str
    appointment: str
    kind: str
    reason: str
    dose: int
    until: date | None


class SyncItemIn(Schema):
    client_id: uuid.UUID
    device_time: AwareTime
    session: PublicId
    appointment: PublicId | None = None
    beneficiary: Reference | None = None
    batch: PublicId | None = None
    site: Short = ""
    outcome: Literal["vaccinated", "refused", "deferred"]
    reason: Short = ""
    note: Text = ""
    expected_dose: int | None = Field(default=None, ge=1, le=20)

    @model_validator(mode="after")
    def _someone(self) -> "SyncItemIn":
        if not self.appointment and not self.beneficiary:
            raise ValueError("give the appointment or the beneficiary's reference")
        return self


class SyncIn(Schema):
    items: list[SyncItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class SyncResultOut(Schema):
    client_id: uuid.UUID
    result: str = Field(description="recorded, duplicate or conflict")
    code: str
    message: str
    record: str = Field(description="the record made, or the one this item repeats")
    dose: int | None


class SyncOut(Schema):
    results: list[SyncResultOut]
