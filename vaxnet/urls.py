"""URL routes: pages, language switching, admin."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from vaxnet.api.urls import hot_urlpatterns
from vaxnet.core import staff_auth_views
from vaxnet.core import views as core_views

admin.site.site_header = _("vaxnet administration")
admin.site.site_title = _("vaxnet")
# The admin signs in through the staff sign-in (lock-out, TOTP), and lets in nobody who still
# owes the second factor.
admin.site.login = staff_auth_views.admin_sign_in  # type: ignore[method-assign]
admin.site.has_permission = staff_auth_views.admin_has_permission  # type: ignore[method-assign]

urlpatterns = [
    # The public availability reads, asked for most, first: the fewest patterns to try.
    *hot_urlpatterns,
    path("", core_views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("centres/", include("vaxnet.facilities.urls")),
    path("account/", include("vaxnet.people.urls")),
    path("", include("vaxnet.booking.urls")),
    path("staff/day/", include("vaxnet.vaccination.urls")),
    path("staff/records/", include("vaxnet.vaccination.correction_urls")),
    path("staff/manage/", include("vaxnet.vaccination.manage_urls")),
    path("aefi/", include("vaxnet.vaccination.aefi_urls")),
    path("staff/", include("vaxnet.booking.staff_urls")),
    path("stock/reports/", include("vaxnet.stock.report_urls")),
    path("stock/", include("vaxnet.stock.urls")),
    path("verify/", include("vaxnet.certificates.verify_urls")),
    path("dashboard/", include("vaxnet.dashboard.urls")),
    path("account/certificates/", include("vaxnet.certificates.download_urls")),
    path("account/corrections/", include("vaxnet.certificates.citizen_correction_urls")),
    path("staff/corrections/", include("vaxnet.certificates.correction_urls")),
    path("", include("vaxnet.certificates.publish_urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/", include("vaxnet.api.urls")),
    path("admin/", admin.site.urls),
]
