"""The APIs' routes, under /api/; and the hottest reads, which vaxnet/urls.py routes first."""

from django.urls import URLPattern, URLResolver, path

from vaxnet.api.cowin_v2 import cowin_v2_api, hot_reads
from vaxnet.api.v1 import v1_api

_v2 = cowin_v2_api.urls

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", v1_api.urls),
    path("v2/", _v2),
]

hot_urlpatterns = hot_reads("api/v2/", _v2[0])
