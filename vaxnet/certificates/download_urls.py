"""Citizen certificate routes, under /account/certificates/."""

from django.urls import path

from vaxnet.certificates import download_views

app_name = "certificate_downloads"

urlpatterns = [
    path("", download_views.certificates, name="list"),
    path("<str:reference>/<slug:target>.pdf", download_views.download, name="download"),
]
