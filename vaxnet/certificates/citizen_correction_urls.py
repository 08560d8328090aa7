"""Citizen pages for corrections of personal details: ask, follow, withdraw."""

from django.urls import path

from vaxnet.certificates import correction_views as views

app_name = "citizen_corrections"

urlpatterns = [
    path("", views.citizen_home, name="home"),
    path("<str:reference>/<str:field>/new/", views.citizen_new, name="new"),
    path("requests/<str:public_id>/withdraw/", views.citizen_withdraw, name="withdraw"),
]
