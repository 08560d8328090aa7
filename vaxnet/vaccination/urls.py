"""Pages of the facility day (day)."""

from django.urls import path

from vaxnet.vaccination import close_views, day_views

app_name = "day"

urlpatterns = [
    path("", day_views.home, name="home"),
    path("sessions/<str:public_id>/", day_views.desk, name="session"),
    path(
        "sessions/<str:public_id>/check-in/<str:appointment_id>/",
        day_views.check_in,
        name="check_in",
    ),
    path("sessions/<str:public_id>/walk-in/", day_views.walk_in, name="walk_in"),
    path("sessions/<str:public_id>/queue/", day_views.queue, name="queue"),
    path("sessions/<str:public_id>/record/<str:appointment_id>/", day_views.record, name="record"),
    path(
        "sessions/<str:public_id>/not-given/<str:appointment_id>/",
        day_views.not_given,
        name="not_given",
    ),
    path("sessions/<str:public_id>/close/", close_views.close, name="close"),
    path("sessions/<str:public_id>/summary/", close_views.summary, name="summary"),
]
