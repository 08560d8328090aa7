"""Certificate routes: the public verify page, at /verify/."""

from django.urls import URLPattern, path

from vaxnet.certificates import verify_views

app_name = "verify"

urlpatterns: list[URLPattern] = [
    path("", verify_views.verify_page, name="verify"),
]
