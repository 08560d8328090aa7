from django.contrib import admin

from vaxnet.booking.models import (
    Draw,
    Session,
    SessionDose,
    Slot,
    WaitlistEntry,
    WaitlistOffer,
)
from vaxnet.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline


class SessionDoseInline(ReadOnlyInline):
    model = SessionDose
    fields = ["dose_number", "capacity_online", "booked_online", "capacity_onsite", "booked_onsite"]


class SlotInline(ReadOnlyInline):
    model = Slot
    fields = ["starts_at", "ends_at", "capacity", "booked"]


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ["date", "facility", "vaccine", "release_at", "status"]
    list_filter = ["status", "vaccine", "date"]
    search_fields = ["facility__code", "public_id"]
    list_select_related = ["facility", "vaccine"]
    inlines = [SessionDoseInline, SlotInline]


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdmin):
    # No seed here: it stays secret until the draw is made (Draw.published() gives it then).
    fields = ["session", "closes_at", "status", "seed_commitment", "closed_at", "entries_hash"]
    list_display = ["session", "closes_at", "status", "closed_at"]
    list_filter = ["status"]
    list_select_related = ["session__facility", "session__vaccine"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "beneficiary", "vaccine", "dose_number", "date_from", "status"]
    list_filter = ["status", "vaccine"]
    search_fields = ["public_id", "beneficiary__reference"]
    list_select_related = ["beneficiary", "vaccine"]


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "entry", "session", "dose_number", "expires_at", "status"]
    list_filter = ["status"]
    search_fields = ["public_id"]
    list_select_related = ["entry", "session__facility", "session__vaccine"]
