"""The APIs' routes, under /api/."""

from django.urls import URLPattern, URLResolver, path

from vaxnet.api.cowin_v2 import cowin_v2_api
from vaxnet.api.v1 import v1_api

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", v1_api.urls),
    path("v2/", cowin_v2_api.urls),
]
