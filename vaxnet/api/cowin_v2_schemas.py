"""The CoWIN v2 response shapes, field for field, for the OpenAPI document and the tests."""

from ninja import Field, Schema


class CowinErrorOut(Schema):
    """A refusal, as CoWIN answered it (HTTP 400)."""

    errorCode: str = Field(examples=["APPOIN0044"])  # CoWIN's field name, camel case
    error: str = Field(examples=["Please enter valid date"])


class StateOut(Schema):
    """A state: CoWIN's state_id is the region's number in the country pack."""

    state_id: int
    state_name: str
    state_name_l: str


class StatesOut(Schema):
    """Every state of the country."""

    states: list[StateOut]
    ttl: int = Field(description="Hours a client may keep the list.", examples=[24])


class DistrictOut(Schema):
    """A district: CoWIN's district_id is the region's number in the country pack."""

    district_id: int
    district_name: str
    district_name_l: str


class DistrictsOut(Schema):
    """The districts of one state."""

    districts: list[DistrictOut]
    ttl: int = Field(examples=[24])


class _CentreFields(Schema):
    center_id: int = Field(description="The facility's primary key: stable, never reused.")
    name: str
    name_l: str
    address: str
    address_l: str
    state_name: str
    state_name_l: str
    district_name: str
    district_name_l: str
    block_name: str
    block_name_l: str
    pincode: int | str = Field(
        description="A number when the postal code is all digits without a leading zero."
    )
    lat: float = Field(description="0 when vaxnet has no coordinates for the centre.")
    long: float
    from_: str = Field(alias="from", examples=["09:00:00"])
    to: str = Field(examples=["17:00:00"])
    fee_type: str = Field(examples=["Free", "Paid"])


class _SessionFields(Schema):
    session_id: str = Field(description="The session's opaque public id.")
    date: str = Field(examples=["03-03-2026"])
    available_capacity: int
    available_capacity_dose1: int
    available_capacity_dose2: int
    min_age_limit: int
    max_age_limit: int | None
    allow_all_age: bool
    vaccine: str = Field(examples=["COVISHIELD"])


class SessionFlatOut(_CentreFields, _SessionFields):
    """A session with its centre's details, as findByPin and findByDistrict list them."""

    fee: str = Field(examples=["0", "780"])
    slots: list[str] = Field(examples=[["09:00AM-11:00AM", "11:00AM-01:00PM"]])


class SessionsOut(Schema):
    """The sessions of one day."""

    sessions: list[SessionFlatOut]


class SlotSeatsOut(Schema):
    """A time slot and the places left in it."""

    time: str = Field(examples=["09:00AM-11:00AM"])
    seats: int


class CalendarSessionOut(_SessionFields):
    """A session in a centre's seven-day calendar."""

    slots: list[SlotSeatsOut]


class VaccineFeeOut(Schema):
    """What a paid centre charges for a dose of a vaccine."""

    vaccine: str
    fee: str


class CalendarCentreOut(_CentreFields):
    """A centre and its sessions over seven days (vaccine_fees for paid centres only)."""

    vaccine_fees: list[VaccineFeeOut] | None = None
    sessions: list[CalendarSessionOut]


class CalendarOut(Schema):
    """The centres with sessions in the seven days from the date asked for."""

    centers: list[CalendarCentreOut]


class CalendarByCenterOut(Schema):
    """One centre's seven-day calendar (a single object, as CoWIN answered)."""

    centers: CalendarCentreOut


class NearbyCentreOut(Schema):
    """A centre found near a point."""

    center_id: int
    name: str
    name_l: str
    district_name: str
    district_name_l: str
    state_name: str
    state_name_l: str
    location: str
    location_l: str
    pincode: int | str
    block_name: str
    block_name_l: str
    lat: float
    long: float


class NearbyCentresOut(Schema):
    """The nearest centres, nearest first."""

    centers: list[NearbyCentreOut]
    ttl: int = Field(examples=[24])
