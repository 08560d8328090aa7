"""Dashboard routes: the public page, at /dashboard/."""

from django.urls import URLPattern, path

from vaxnet.dashboard import views

app_name = "dashboard"

urlpatterns: list[URLPattern] = [
    path("", views.dashboard_page, name="page"),
]
