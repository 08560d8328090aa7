from django.urls import path

from vaxnet.booking import views

app_name = "booking"

urlpatterns = [
    path("book/", views.find, name="find"),
    path("book/booked/", views.booked, name="booked"),
    path("book/<str:public_id>/", views.book, name="book"),
    path("account/appointments/<str:public_id>/cancel/", views.cancel, name="cancel"),
    path("account/appointments/<str:public_id>/slip.pdf", views.slip, name="slip"),
    path("account/appointments/<str:public_id>/move/", views.reschedule, name="reschedule"),
    path(
        "account/appointments/<str:public_id>/move/<str:session_id>/",
        views.reschedule_to,
        name="reschedule_to",
    ),
]
