"""Pages of the facility day (records): a person's doses, corrections and merges."""

from django.urls import path

from vaxnet.vaccination import correction_views as views

app_name = "records"

urlpatterns = [
    path("", views.home, name="home"),
    path("vaccinations/<str:public_id>/", views.vaccination, name="vaccination"),
    path("merge/", views.merge, name="merge"),
    path("merges/<int:merge_id>/undo/", views.merge_undo, name="merge_undo"),
]
