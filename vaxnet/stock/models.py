"""Vaccine stock: stores, batches, and the append-only ledger of every move between them.

Quantities are in doses; a move of whole vials also records them. A store's balance of a
batch is the sum of its moves (`StockMove`); `Balance` keeps that sum, written in the same
transaction as each move with a conditional UPDATE that never lets it go below zero (as
the booking capacity is taken), and `vaxnet check_stock` compares it with the ledger.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from vaxnet.core.ids import public_id
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region
from vaxnet.vaccines.models import Vaccine


def _new_public_id() -> str:
    return public_id(12)


class Store(models.Model):
    """A place that holds vaccine: the national store, a state's, a district's, a facility's."""

    class Level(models.TextChoices):
        NATIONAL = "national", _("National store")
        STATE = "state", _("State store")
        DISTRICT = "district", _("District store")
        FACILITY = "facility", _("Facility store")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="stores",
        help_text=_("The region the store serves; a facility store's is its facility's."),
    )
    facility = models.OneToOneField(
        Facility,
        verbose_name=_("facility"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="store",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("supplied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["region__path", "level", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="facility", facility__isnull=False)
                | (~Q(level="facility") & Q(facility__isnull=True)),
                name="stock_store_facility_iff_facility_level",
            ),
            models.UniqueConstraint(
                fields=["region", "level"],
                condition=~Q(level="facility"),
                name="stock_store_one_per_region_level",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Batch(models.Model):
    """A manufacturer's lot of one vaccine: its expiry, vial size and vial monitor stage."""

    class VvmStage(models.IntegerChoices):
        STAGE_1 = 1, _("Stage 1 (usable)")
        STAGE_2 = 2, _("Stage 2 (usable, use first)")
        STAGE_3 = 3, _("Stage 3 (discard)")
        STAGE_4 = 4, _("Stage 4 (discard)")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    vaccine = models.ForeignKey(
        Vaccine, verbose_name=_("vaccine"), on_delete=models.PROTECT, related_name="batches"
    )
    lot_number = models.CharField(_("lot number"), max_length=40)
    manufacturer = models.CharField(_("manufacturer"), max_length=120)
    expires_on = models.DateField(_("expiry date"))
    doses_per_vial = models.PositiveSmallIntegerField(_("doses per vial"))
    vvm_stage = models.PositiveSmallIntegerField(
        _("vaccine vial monitor stage"), choices=VvmStage.choices, default=VvmStage.STAGE_1
    )
    # Set when the batch sat in equipment during a temperature excursion; cleared by a check.
    vvm_check_due = models.BooleanField(_("vial monitor check due"), default=False)
    recalled_at = models.DateTimeField(_("recalled at"), null=True, blank=True)
    recall_reason = models.CharField(_("recall reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["expires_on", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["vaccine", "lot_number"], name="stock_batch_one_lot_per_vaccine"
            ),
            models.CheckConstraint(
                condition=Q(doses_per_vial__gte=1), name="stock_batch_doses_per_vial_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vaccine.code} {self.lot_number}"

    def is_expired(self, *, on: date) -> bool:
        """Return whether the batch may no longer be used on that day (its expiry has passed)."""
        return self.expires_on < on

    def is_recalled(self) -> bool:
        """Return whether the batch has been recalled."""
        return self.recalled_at is not None

    def is_discarded_by_vvm(self) -> bool:
        """Return whether its vial monitor says to discard it (stage 3 or 4)."""
        return self.vvm_stage >= self.VvmStage.STAGE_3


class Transfer(models.Model):
    """Stock sent from one store to another: in transit, then received (maybe short)."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", _("In transit")
        RECEIVED = "received", _("Received")
        DISCREPANCY = "discrepancy", _("Received with a discrepancy")
        RESOLVED = "resolved", _("Discrepancy resolved")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    source = models.ForeignKey(
        Store, verbose_name=_("from"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    destination = models.ForeignKey(
        Store, verbose_name=_("to"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    requisition = models.ForeignKey(
        "Requisition",
        verbose_name=_("requisition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IN_TRANSIT
    )
    dispatched_at = models.DateTimeField(_("dispatched at"))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution = models.CharField(_("resolution"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-dispatched_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="stock_transfer_between_two_stores"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.destination} ({self.public_id})"


class TransferLine(models.Model):
    """One batch in a transfer: the doses sent, and those received, short and damaged."""

    transfer = models.ForeignKey(
        Transfer, verbose_name=_("transfer"), on_delete=models.CASCADE, related_name="lines"
    )
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT)
    doses_sent = models.PositiveIntegerField(_("doses sent"))
    doses_received = models.PositiveIntegerField(_("doses received"), null=True, blank=True)
    doses_short = models.PositiveIntegerField(_("doses missing"), default=0)
    doses_damaged = models.PositiveIntegerField(_("doses damaged"), default=0)

    class Meta:
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
        constraints = [
            models.UniqueConstraint(
                fields=["transfer", "batch"], name="stock_transfer_line_one_per_batch"
            ),
            models.CheckConstraint(
                condition=Q(doses_received__isnull=True)
                | Q(doses_sent=F("doses_received") + F("doses_short") + F("doses_damaged")),
                name="stock_transfer_line_conserves_doses",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch}: {self.doses_sent}"


class Requisition(models.Model):
    """A store's request to the store that supplies it, approved in full or in part."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        DISPATCHED = "dispatched", _("Dispatched")
        RECEIVED = "received", _("Received")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    requester = models.ForeignKey(
        Store, verbose_name=_("asked by"), on_delete=models.PROTECT, related_name="requisitions"
    )
    supplier = models.ForeignKey(
        Store,
        verbose_name=_("asked of"),
        on_delete=models.PROTECT,
        related_name="requisitions_received",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("requisition")
        verbose_name_plural = _("requisitions")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.requester} → {self.supplier} ({self.public_id})"


class RequisitionLine(models.Model):
    """One vaccine in a requisition: the doses asked for, and those approved."""

    requisition = models.ForeignKey(
        Requisition, verbose_name=_("requisition"), on_delete=models.CASCADE, related_name="lines"
    )
    vaccine = models.ForeignKey(Vaccine, verbose_name=_("vaccine"), on_delete=models.PROTECT)
    doses_requested = models.PositiveIntegerField(_("doses requested"))
    doses_approved = models.PositiveIntegerField(_("doses approved"), null=True, blank=True)

    class Meta:
        verbose_name = _("requisition line")
        verbose_name_plural = _("requisition lines")
        constraints = [
            models.UniqueConstraint(
                fields=["requisition", "vaccine"], name="stock_requisition_line_one_per_vaccine"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vaccine}: {self.doses_requested}"


class StockMove(models.Model):
    """One change of a store's stock of a batch: a line of the ledger, never changed or deleted.

    `doses` is signed: into the store above zero, out of it below. `vials` is the whole
    vials moved (signed alike) where whole vials move (receipts, transfers, issues, returns,
    closed-vial wastage); doses given from open vials move none.
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt from a supplier")
        DISPATCH = "dispatch", _("Dispatch of a transfer")
        TRANSFER_IN = "transfer_in", _("Receipt of a transfer")
        ISSUE = "issue", _("Issue to a session")
        RETURN = "return", _("Return from a session")
        CONSUMPTION = "consumption", _("Dose given")
        WASTAGE = "wastage", _("Wastage")
        ADJUSTMENT = "adjustment", _("Adjustment after a count")

    class Reason(models.TextChoices):
        NONE = "", _("None")
        OPEN_VIAL = "open_vial", _("Open vial not used in time")
        BREAKAGE = "breakage", _("Breakage")
        COLD_CHAIN = "cold_chain", _("Cold-chain failure")
        VVM = "vvm", _("Vial monitor says discard")
        EXPIRY = "expiry", _("Expired")
        RECALL = "recall", _("Recalled")
        TRANSIT = "transit", _("Lost or damaged in transit")
        COUNT = "count", _("Found by a physical count")

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="moves"
    )
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="moves"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    reason = models.CharField(
        _("reason"), max_length=12, choices=Reason.choices, default=Reason.NONE, blank=True
    )
    doses = models.IntegerField(_("doses"))
    vials = models.IntegerField(_("vials"), default=0)
    at = models.DateTimeField(_("at"), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    transfer = models.ForeignKey(
        Transfer,
        verbose_name=_("transfer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="moves",
    )
    session = models.ForeignKey(
        "booking.Session",
        verbose_name=_("session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_moves",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stock move")
        verbose_name_plural = _("stock moves")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["store", "batch", "at"], name="stock_move_store_batch_at"),
            models.Index(fields=["session", "batch"], name="stock_move_session_batch"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(doses=0), name="stock_move_moves_something"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.doses:+d} {self.batch} @ {self.store}"


class Balance(models.Model):
    """The sum of a store's moves of a batch, kept with each move; never below zero."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="balances"
    )
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="balances"
    )
    doses = models.IntegerField(_("doses"), default=0)
    vials = models.IntegerField(_("vials"), default=0)

    class Meta:
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        constraints = [
            models.UniqueConstraint(fields=["store", "batch"], name="stock_balance_one_per_pair"),
            models.CheckConstraint(condition=Q(doses__gte=0), name="stock_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.batch} @ {self.store}: {self.doses}"

    def whole_vials(self) -> int:
        """Return the unopened vials the doses fill (the rest of an opened vial is not one)."""
        return self.doses // self.batch.doses_per_vial


class PendingAdjustment(models.Model):
    """A count's adjustment too large to apply at once: it waits for a district approval."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="adjustments"
    )
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT)
    counted_doses = models.PositiveIntegerField(_("doses counted"))
    balance_doses = models.IntegerField(_("doses on the books when counted"))
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    counted_at = models.DateTimeField(_("counted at"))
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("counted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("pending adjustment")
        verbose_name_plural = _("pending adjustments")
        ordering = ["-counted_at"]

    def __str__(self) -> str:
        return f"{self.batch} @ {self.store}: {self.counted_doses}"


class Equipment(models.Model):
    """A piece of cold-chain equipment in a store, and the data logger that reports for it."""

    class Kind(models.TextChoices):
        REFRIGERATOR = "refrigerator", _("Refrigerator")
        ICE_LINED_REFRIGERATOR = "ilr", _("Ice-lined refrigerator")
        FREEZER = "freezer", _("Freezer")
        WALK_IN_COOLER = "walk_in_cooler", _("Walk-in cooler")
        COLD_BOX = "cold_box", _("Cold box")
        VACCINE_CARRIER = "carrier", _("Vaccine carrier")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="equipment"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=100)
    make = models.CharField(_("make"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    # A keyed hash of the data logger's key (never the key itself); empty: no logger.
    device_key_hash = models.CharField(_("data logger key hash"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("cold-chain equipment")
        verbose_name_plural = _("cold-chain equipment")
        ordering = ["store", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["device_key_hash"],
                condition=~Q(device_key_hash=""),
                name="stock_equipment_one_key_per_logger",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class TemperatureReading(models.Model):
    """A temperature read in a piece of equipment, by its data logger or by hand."""

    class Source(models.TextChoices):
        LOGGER = "logger", _("Data logger")
        MANUAL = "manual", _("Entered by hand")

    equipment = models.ForeignKey(
        Equipment, verbose_name=_("equipment"), on_delete=models.PROTECT, related_name="readings"
    )
    at = models.DateTimeField(_("at"))
    celsius = models.DecimalField(_("temperature (°C)"), max_digits=5, decimal_places=2)
    source = models.CharField(_("source"), max_length=6, choices=Source.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("temperature reading")
        verbose_name_plural = _("temperature readings")
        ordering = ["equipment", "at"]
        constraints = [
            # A logger that sends a batch again adds nothing.
            models.UniqueConstraint(
                fields=["equipment", "at"], name="stock_reading_one_per_moment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.equipment}: {self.celsius} °C at {self.at:%Y-%m-%d %H:%M}"


class Excursion(models.Model):
    """A time the equipment was out of its safe range: too warm, too cold, or freezing."""

    class Kind(models.TextChoices):
        HEAT = "heat", _("Above 8 °C")
        COLD = "cold", _("Below 2 °C")
        FREEZE = "freeze", _("Freezing")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    equipment = models.ForeignKey(
        Equipment,
        verbose_name=_("equipment"),
        on_delete=models.PROTECT,
        related_name="excursions",
    )
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    lowest = models.DecimalField(_("lowest (°C)"), max_digits=5, decimal_places=2)
    highest = models.DecimalField(_("highest (°C)"), max_digits=5, decimal_places=2)
    alerted_at = models.DateTimeField(_("alert raised at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("temperature excursion")
        verbose_name_plural = _("temperature excursions")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.equipment}: {self.kind} from {self.started_at:%Y-%m-%d %H:%M}"


class SessionStock(models.Model):
    """A batch's account at one session: vials issued and returned, doses given from them.

    Kept in the transactions that issue, return and record a dose, so that a vaccinator can
    never record more doses of a batch than the vials issued to the session hold, however
    many record at once: a dose is taken by one conditional UPDATE (`stock.sessions`). At
    the close the doses given here become the ledger's consumption for the session.
    """

    session = models.ForeignKey(
        "booking.Session",
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        related_name="stock_accounts",
    )
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="session_accounts"
    )
    doses_per_vial = models.PositiveSmallIntegerField(_("doses per vial"))
    vials_issued = models.PositiveIntegerField(_("vials issued"), default=0)
    vials_returned = models.PositiveIntegerField(_("vials returned unopened"), default=0)
    doses_given = models.PositiveIntegerField(_("doses given"), default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session stock")
        verbose_name_plural = _("session stock")
        ordering = ["session", "batch"]
        constraints = [
            models.UniqueConstraint(fields=["session", "batch"], name="session_stock_unique"),
            models.CheckConstraint(
                condition=Q(vials_returned__lte=F("vials_issued")),
                name="session_stock_returns_within_issues",
            ),
            # The last line of defence: no path records more doses than the opened vials hold.
            models.CheckConstraint(
                condition=Q(
                    doses_given__lte=(F("vials_issued") - F("vials_returned")) * F("doses_per_vial")
                ),
                name="session_stock_given_within_vials",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.batch_id} {self.doses_given}"

    @property
    def doses_left(self) -> int:
        """Return the doses still in the vials issued and not returned."""
        return (self.vials_issued - self.vials_returned) * self.doses_per_vial - self.doses_given

    @property
    def vials_opened(self) -> int:
        """Return the vials the doses given have opened so far (whole vials, rounded up)."""
        return -(-self.doses_given // self.doses_per_vial)
