"""The APIs' routes, under /api/."""

from django.urls import path

from vaxnet.api.cowin_v2 import cowin_v2_api

urlpatterns = [
    path("v2/", cowin_v2_api.urls),
]
