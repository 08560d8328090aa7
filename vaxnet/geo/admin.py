from django.contrib import admin

from vaxnet.core.admin_mixins import ReadOnlyAdmin
from vaxnet.geo.models import Population, PostalCode, Region


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "level", "number", "parent"]
    list_filter = ["country", "level"]
    search_fields = ["code", "names"]
    list_select_related = ["parent"]


@admin.register(PostalCode)
class PostalCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "place", "region"]
    list_filter = ["country"]
    search_fields = ["code", "place"]
    list_select_related = ["region"]


@admin.register(Population)
class PopulationAdmin(ReadOnlyAdmin):
    list_display = ["region", "age_band", "sex", "count"]
    list_filter = ["age_band", "sex"]
    search_fields = ["region__code"]
    list_select_related = ["region"]
