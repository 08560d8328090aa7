from django.contrib import admin

from vaxnet.booking.models import Session, SessionDose, Slot
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
