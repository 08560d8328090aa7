"""Certificate routes: filled in by the module."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
