"""Pages of adverse events following immunisation: reports, the open list, follow-up."""

from django.urls import path

from vaxnet.vaccination import aefi_views

app_name = "aefi"

urlpatterns = [
    path("", aefi_views.staff_list, name="staff_list"),
    path("report/", aefi_views.staff_report, name="staff_report"),
    path("mine/<str:reference>/", aefi_views.citizen_report, name="citizen_report"),
    path("<str:public_id>/", aefi_views.detail, name="detail"),
    path("<str:public_id>/follow-up/", aefi_views.follow_up, name="follow_up"),
    path("<str:public_id>/close/", aefi_views.close, name="close"),
]
