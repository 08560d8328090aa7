from django.contrib import admin

from vaxnet.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline
from vaxnet.vaccines.models import Vaccine, VaccineDose


class VaccineDoseInline(ReadOnlyInline):
    model = VaccineDose
    fields = [
        "number",
        "kind",
        "min_interval",
        "max_interval",
        "min_age",
        "max_age",
        "same_product",
    ]


@admin.register(Vaccine)
class VaccineAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "manufacturer", "target", "kind", "min_age", "active"]
    list_filter = ["country", "kind", "active"]
    inlines = [VaccineDoseInline]
