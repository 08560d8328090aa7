"""The CoWIN v2 sign-in and appointment schemas: CoWIN's field names, one pair per endpoint."""

from typing import Annotated

from ninja import Field, Schema

from vaxnet.api.v1_schemas import NoNul

Mobile = Annotated[str, Field(max_length=32, examples=["9876543210"]), NoNul]
Txn = Annotated[str, Field(max_length=40), NoNul]
OtpDigest = Annotated[
    str,
    Field(max_length=128, description="SHA-256 (hex) of the 6-digit code sent by SMS."),
    NoNul,
]
PublicId = Annotated[str, Field(max_length=40), NoNul]
SlotLabel = Annotated[str, Field(max_length=40, examples=["09:00AM-11:00AM"]), NoNul]
ReferenceId = Annotated[str, Field(max_length=20, examples=["12345678901234"]), NoNul]


# Sign-in


class MobileIn(Schema):
    """A mobile number to send a sign-in code to (the country's national form or E.164)."""

    mobile: Mobile


class MobileWithSecretIn(MobileIn):
    """A mobile number; `secret` is what CoWIN's own web app sent, accepted and ignored."""

    secret: Annotated[str, Field(max_length=500), NoNul] | None = None


class TxnOut(Schema):
    """The transaction to confirm with the code."""

    txnId: str  # CoWIN's field name, camel case


class ConfirmIn(Schema):
    """The SHA-256 of the code received, and the transaction it was sent for."""

    otp: OtpDigest
    txnId: Txn


class TokenOut(Schema):
    """A bearer token."""

    token: str


class ValidatedOut(Schema):
    """A bearer token for the appointment calls, and whether this sign-in made the account."""

    token: str
    isNewAccount: str = Field(examples=["Y", "N"])


# Appointments


class AppointmentOut(Schema):
    """A live appointment of a beneficiary, with its centre."""

    appointment_id: str = Field(description="The appointment's opaque public id.")
    center_id: int
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
    pincode: int | str
    lat: float
    long: float
    from_: str = Field(alias="from", examples=["09:00:00"])
    to: str = Field(examples=["17:00:00"])
    fee_type: str = Field(examples=["Free", "Paid"])
    dose: int
    session_id: str
    date: str = Field(examples=["03-03-2026"])
    slot: str = Field(examples=["09:00AM-11:00AM"])


class BeneficiaryOut(Schema):
    """A person registered on the account."""

    beneficiary_reference_id: str
    name: str
    birth_year: str
    gender: str = Field(examples=["Male", "Female", "Others"])
    mobile_number: str = Field(description="The last 4 digits of the account's number.")
    photo_id_type: str
    photo_id_number: str = Field(examples=["XXXX XXXX 1234"])
    comorbidity_ind: str = Field(examples=["N"])
    vaccination_status: str = Field(
        examples=["Not Vaccinated", "Partially Vaccinated", "Vaccinated"]
    )
    vaccine: str
    dose1_date: str
    dose2_date: str
    appointments: list[AppointmentOut]


class BeneficiariesOut(Schema):
    """Every person registered on the account."""

    beneficiaries: list[BeneficiaryOut]


class ScheduleIn(Schema):
    """Book a slot of a session for one or more people of the account, all or none."""

    dose: int | None = Field(default=None, ge=1, le=20)
    session_id: PublicId
    slot: SlotLabel
    beneficiaries: list[ReferenceId] = Field(max_length=20)
    center_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class ConfirmationOut(Schema):
    """The booking's confirmation number: the (first) appointment's id."""

    appointment_confirmation_no: str


class RescheduleIn(Schema):
    """Move an appointment to a slot of a session."""

    appointment_id: PublicId
    session_id: PublicId
    slot: SlotLabel


class CancelIn(Schema):
    """Cancel the appointments of these people in the appointment's session (default: its own)."""

    appointment_id: PublicId
    beneficiariesToCancel: list[ReferenceId] = Field(default_factory=list, max_length=20)
