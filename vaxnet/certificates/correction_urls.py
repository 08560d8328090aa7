"""Staff pages for corrections of personal details: the queue and the decision."""

from django.urls import path

from vaxnet.certificates import correction_views as views

app_name = "corrections"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<str:public_id>/", views.detail, name="detail"),
]
