"""The v1 stock API's request and answer schemas: one pair per endpoint (vaxnet.api.v1_stock)."""

from datetime import date, datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field

from vaxnet.api.v1_schemas import NoNul
from vaxnet.stock.forms import MAX_DOSES
from vaxnet.stock.models import Equipment, StockMove

PublicId = Annotated[str, Field(min_length=1, max_length=16), NoNul]
VaccineCode = Annotated[str, Field(min_length=1, max_length=40), NoNul]
RegionCode = Annotated[str, Field(min_length=1, max_length=40), NoNul]
Note = Annotated[str, Field(max_length=300), NoNul]
Doses = Annotated[int, Field(ge=1, le=MAX_DOSES)]
SomeDoses = Annotated[int, Field(ge=0, le=MAX_DOSES)]
Vials = Annotated[int, Field(ge=1, le=MAX_DOSES)]
SomeVials = Annotated[int, Field(ge=0, le=MAX_DOSES)]


# Shared parts of answers


class StoreRef(Schema):
    id: str
    name: str


class BatchOut(Schema):
    id: str
    vaccine: str = Field(description="the vaccine's code")
    lot_number: str
    manufacturer: str
    expires_on: date
    doses_per_vial: int
    vvm_stage: int = Field(description="the vial monitor's stage, 1 to 4; 3 and 4 mean discard")
    recalled_at: datetime | None
    recall_reason: str


class MoveOut(Schema):
    kind: str = Field(description="receipt, dispatch, transfer_in, issue, return, ...")
    reason: str
    doses: int = Field(description="into the store if positive, out of it if negative")
    vials: int
    at: datetime
    batch: str
    lot_number: str
    transfer: str | None
    session: str | None
    note: str


class TransferLineOut(Schema):
    batch: str
    lot_number: str
    vaccine: str
    doses_sent: int
    doses_received: int | None
    doses_short: int
    doses_damaged: int


class TransferOut(Schema):
    id: str
    status: str = Field(description="in_transit, received, discrepancy or resolved")
    source: StoreRef
    destination: StoreRef
    requisition: str | None
    dispatched_at: datetime
    received_at: datetime | None
    resolution: str
    lines: list[TransferLineOut]


class ExcursionOut(Schema):
    id: str
    equipment: str
    kind: str = Field(description="heat (above 8 °C), cold (below 2 °C) or freeze")
    started_at: datetime
    ended_at: datetime | None
    lowest: float
    highest: float
    acknowledged_at: datetime | None


# Stores


class StoreOut(Schema):
    id: str
    name: str
    level: str = Field(description="national, state, district or facility")
    region: str = Field(description="the region's code")
    facility: str | None = Field(description="the facility's code, for a facility's store")
    parent: str | None = Field(description="the id of the store that supplies this one")
    active: bool


class StoresOut(Schema):
    count: int
    page: int
    pages: int
    stores: list[StoreOut]


class OnHandOut(Schema):
    batch: BatchOut
    doses: int
    vials: int
    expired: bool
    discard: bool = Field(description="the vial monitor says discard")


class StoreDetailOut(Schema):
    store: StoreOut
    on_hand: list[OnHandOut]
    in_transit: list[TransferOut] = Field(description="transfers on their way to or from it")
    excursions: list[ExcursionOut] = Field(description="open or not yet acknowledged")


class MovesOut(Schema):
    count: int
    page: int
    pages: int
    moves: list[MoveOut] = Field(description="newest first")


class MovesQuery(Schema):
    batch: PublicId | None = Field(None, description="only this batch's moves")
    kind: StockMove.Kind | None = Field(None, description="only moves of this kind")
    date_from: date | None = Field(None, description="from this local day")
    date_to: date | None = Field(None, description="to this local day, included")
    page: int = Field(1, ge=1, le=100_000)


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)


# Batches


class BatchIn(Schema):
    vaccine: VaccineCode
    lot_number: Annotated[str, Field(max_length=40), NoNul]
    manufacturer: Annotated[str, Field(max_length=120), NoNul] = Field(
        "", description="the vaccine's manufacturer if not given"
    )
    expires_on: date
    doses_per_vial: int | None = Field(
        None, ge=1, le=1000, description="the vaccine's usual vial size if not given"
    )


class RecallIn(Schema):
    reason: Note


# Receipts, wastage and counts


class ReceiptIn(Schema):
    batch: PublicId
    doses: Doses = Field(description="whole vials of the batch")
    supplier: Annotated[str, Field(max_length=300), NoNul]


class WastageIn(Schema):
    batch: PublicId
    doses: Doses = Field(description="whole vials, except for open-vial wastage")
    reason: StockMove.Reason
    note: Note = ""


class StockMoveOut(Schema):
    store: str
    move: MoveOut
    balance: int = Field(description="the store's doses of the batch after the move")


class CountIn(Schema):
    batch: PublicId
    counted_doses: SomeDoses
    reason: Note


class AdjustmentOut(Schema):
    id: str
    store: str
    batch: str
    counted_doses: int
    balance_doses: int = Field(description="the doses on the books when counted")
    reason: str
    status: str = Field(description="waiting, approved or rejected")
    counted_at: datetime
    decided_at: datetime | None


class CountOut(Schema):
    difference: int = Field(description="doses counted − doses on the books")
    move: MoveOut | None = Field(description="the adjustment made at once, if any")
    adjustment: AdjustmentOut | None = Field(
        description="the adjustment waiting for an administrator, if the difference is large"
    )
    balance: int


class DecisionIn(Schema):
    approve: bool


# Transfers


class BatchDosesIn(Schema):
    batch: PublicId
    doses: Doses


class DispatchIn(Schema):
    destination: PublicId = Field(description="a store this one supplies")
    lines: list[BatchDosesIn] = Field(min_length=1, max_length=100)


class ReceivedLineIn(Schema):
    batch: PublicId
    received: SomeDoses = Field(description="doses received in good order")
    damaged: SomeDoses = Field(0, description="doses that arrived unusable")


class TransferReceiptIn(Schema):
    lines: list[ReceivedLineIn] | None = Field(
        None,
        max_length=100,
        description="per batch; a batch left out: none received. Not given: all in good order",
    )


class ResolutionIn(Schema):
    resolution: Note


# Requisitions


class VaccineDosesIn(Schema):
    vaccine: VaccineCode
    doses: SomeDoses


class RequisitionIn(Schema):
    lines: list[VaccineDosesIn] = Field(min_length=1, max_length=50)
    note: Note = ""


class RequisitionLineOut(Schema):
    vaccine: str
    doses_requested: int
    doses_approved: int | None


class RequisitionOut(Schema):
    id: str
    status: str = Field(description="requested, approved, rejected, dispatched or received")
    requester: StoreRef
    supplier: StoreRef
    note: str
    requested_at: datetime
    decided_at: datetime | None
    lines: list[RequisitionLineOut]
    transfers: list[str] = Field(description="the ids of the transfers that send it")


class ApprovalIn(Schema):
    lines: list[VaccineDosesIn] | None = Field(
        None, max_length=50, description="doses per vaccine; not given: all that was asked for"
    )


class RejectionIn(Schema):
    reason: Note


class RequisitionDispatchIn(Schema):
    lines: list[BatchDosesIn] | None = Field(
        None, max_length=100, description="doses per batch; not given: first to expire first"
    )


# Sessions


class SessionVialsIn(Schema):
    session: PublicId
    batch: PublicId
    vials: Vials


class SessionBatchIn(Schema):
    batch: PublicId
    doses: SomeDoses


class SessionVialsBackIn(Schema):
    batch: PublicId
    vials: SomeVials


class StockCloseIn(Schema):
    doses_given: list[SessionBatchIn] = Field(max_length=100)
    unopened_vials: list[SessionVialsBackIn] = Field(
        default_factory=list, max_length=100, description="vials returned unopened at the close"
    )


class SessionBatchOut(Schema):
    batch: str
    vials_issued: int
    vials_returned: int
    vials_opened: int
    doses_given: int
    doses_wasted: int = Field(description="open-vial wastage")


class StockCloseOut(Schema):
    session: str
    batches: list[SessionBatchOut]


# Cold chain


class EquipmentIn(Schema):
    kind: Equipment.Kind
    label: Annotated[str, Field(max_length=100), NoNul]
    make: Annotated[str, Field(max_length=100), NoNul] = ""
    model: Annotated[str, Field(max_length=100), NoNul] = ""


class EquipmentOut(Schema):
    id: str
    store: str
    kind: str
    label: str
    make: str
    model: str
    key: str | None = Field(
        description="the data logger's key: shown in this answer only (null when replayed)"
    )


class ReadingIn(Schema):
    at: datetime = Field(description="when it was read, ISO 8601 with its UTC offset")
    celsius: float = Field(allow_inf_nan=False, description="the temperature read, in °C")


class ReadingOut(Schema):
    equipment: str
    at: datetime
    celsius: float
    excursions: list[ExcursionOut] = Field(description="the equipment's excursions still open")


class AcknowledgementOut(Schema):
    excursion: ExcursionOut


# Reports and alerts


class ReportQuery(Schema):
    store: PublicId | None = Field(None, description="only this store")
    region: RegionCode | None = Field(None, description="only the stores within this region")
    date_from: date | None = Field(None, description="first local day (default: 30 days ago)")
    date_to: date | None = Field(None, description="last local day, included (default: today)")


class OnHandRowOut(Schema):
    store: StoreRef
    vaccine: str
    batch: str
    lot_number: str
    expires_on: date
    doses: int
    vials: int


class OnHandReportOut(Schema):
    rows: list[OnHandRowOut]


class InTransitRowOut(Schema):
    destination: StoreRef
    vaccine: str
    doses: int


class InTransitReportOut(Schema):
    rows: list[InTransitRowOut]


class ConsumptionRowOut(Schema):
    store: StoreRef
    vaccine: str
    doses: int


class ConsumptionReportOut(Schema):
    date_from: date
    date_to: date
    rows: list[ConsumptionRowOut]


class WastageRowOut(Schema):
    store: StoreRef
    vaccine: str
    given: int
    open_vial: int
    open_vial_rate: float | None = Field(description="open-vial wasted / (given + wasted)")
    closed_vial: int
    closed_vial_rate: float | None


class WastageReportOut(Schema):
    date_from: date
    date_to: date
    rows: list[WastageRowOut]


class SupplyRowOut(Schema):
    store: StoreRef
    vaccine: str
    on_hand: int
    consumed: int = Field(description="doses given in the 14 whole days before today")
    daily: float
    days: float | None = Field(description="days of supply; null when nothing was given")


class SupplyReportOut(Schema):
    rows: list[SupplyRowOut]


class AlertOut(Schema):
    kind: str = Field(description="low_stock, stock_out, near_expiry, expired or excursion")
    severity: str = Field(description="critical or warning")
    store: StoreRef
    message: str
    vaccine: str | None
    batch: str | None
    excursion: str | None


class AlertsOut(Schema):
    alerts: list[AlertOut]
