from django.urls import path

from vaxnet.booking import views, waitlist_views

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
    # The offer's path is in the SMS (booking.waitlist.OFFER_PATH): keep it stable.
    path("waitlist/", waitlist_views.waitlist, name="waitlist"),
    path("waitlist/join/", waitlist_views.waitlist_join, name="waitlist_join"),
    path("waitlist/offers/<str:public_id>/", waitlist_views.offer, name="offer"),
    path(
        "waitlist/offers/<str:public_id>/accept/",
        waitlist_views.offer_accept,
        name="offer_accept",
    ),
    path(
        "waitlist/offers/<str:public_id>/decline/",
        waitlist_views.offer_decline,
        name="offer_decline",
    ),
    path(
        "waitlist/<str:public_id>/leave/",
        waitlist_views.waitlist_leave_view,
        name="waitlist_leave",
    ),
]
