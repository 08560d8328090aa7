"""Stock in the admin: to look at. Every change goes through the stock services (the ledger)."""

from django.contrib import admin

from vaxnet.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline
from vaxnet.stock.models import (
    Balance,
    Batch,
    Equipment,
    Excursion,
    PendingAdjustment,
    Requisition,
    RequisitionLine,
    StockMove,
    Store,
    Transfer,
    TransferLine,
)


@admin.register(Store)
class StoreAdmin(ReadOnlyAdmin):
    list_display = ["name", "level", "region", "parent", "active"]
    list_filter = ["level", "active"]
    search_fields = ["name", "public_id", "region__code"]
    list_select_related = ["region", "parent"]


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ["lot_number", "vaccine", "manufacturer", "expires_on", "vvm_stage"]
    list_filter = ["vaccine", "vvm_stage", "vvm_check_due"]
    search_fields = ["lot_number", "public_id"]
    list_select_related = ["vaccine"]


@admin.register(StockMove)
class StockMoveAdmin(ReadOnlyAdmin):
    list_display = ["at", "store", "batch", "kind", "reason", "doses", "vials"]
    list_filter = ["kind", "reason"]
    search_fields = ["store__name", "batch__lot_number"]
    list_select_related = ["store", "batch", "batch__vaccine"]
    date_hierarchy = "at"


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ["store", "batch", "doses", "vials"]
    search_fields = ["store__name", "batch__lot_number"]
    list_select_related = ["store", "batch", "batch__vaccine"]


class TransferLineInline(ReadOnlyInline):
    model = TransferLine
    fields = ["batch", "doses_sent", "doses_received", "doses_short", "doses_damaged"]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "source", "destination", "status", "dispatched_at"]
    list_filter = ["status"]
    list_select_related = ["source", "destination"]
    inlines = [TransferLineInline]


class RequisitionLineInline(ReadOnlyInline):
    model = RequisitionLine
    fields = ["vaccine", "doses_requested", "doses_approved"]


@admin.register(Requisition)
class RequisitionAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "requester", "supplier", "status", "requested_at"]
    list_filter = ["status"]
    list_select_related = ["requester", "supplier"]
    inlines = [RequisitionLineInline]


@admin.register(PendingAdjustment)
class PendingAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["store", "batch", "counted_doses", "balance_doses", "status", "counted_at"]
    list_filter = ["status"]
    list_select_related = ["store", "batch"]


@admin.register(Equipment)
class EquipmentAdmin(ReadOnlyAdmin):
    list_display = ["label", "kind", "store", "make", "model", "active"]
    list_filter = ["kind", "active"]
    list_select_related = ["store"]
    exclude = ["device_key_hash"]


@admin.register(Excursion)
class ExcursionAdmin(ReadOnlyAdmin):
    list_display = ["equipment", "kind", "started_at", "ended_at", "lowest", "highest"]
    list_filter = ["kind"]
    list_select_related = ["equipment"]
