from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from vaxnet.core.admin_mixins import ReadOnlyAdmin
from vaxnet.core.models import AuditEvent, User

admin.site.register(User, UserAdmin)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label", "action"]
    date_hierarchy = "at"
