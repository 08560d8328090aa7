from django.urls import path

from vaxnet.facilities import views

app_name = "facilities"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("<str:public_id>/", views.detail, name="detail"),
]
