"""Staff pages for stock reports and alerts; included under /stock/reports/."""

from django.urls import path

from vaxnet.stock import report_views

app_name = "stock_reports"

urlpatterns = [
    path("", report_views.report_page, name="page"),
    path("alerts/", report_views.alert_page, name="alerts"),
    path("<slug:key>.csv", report_views.report_csv, name="csv"),
]
