from django.contrib import admin

from vaxnet.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline
from vaxnet.countries.models import Country, IdDocumentType


class IdDocumentTypeInline(ReadOnlyInline):
    model = IdDocumentType
    fields = ["code", "names", "normalise_mode", "pattern", "check_digit"]


@admin.register(Country)
class CountryAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "timezone", "phone_region", "loaded_at"]
    inlines = [IdDocumentTypeInline]
