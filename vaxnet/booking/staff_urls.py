"""Staff pages: sign-in, and planning sessions at the facilities a staff member may plan for."""

from django.urls import path

from vaxnet.booking import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.home, name="home"),
    path("sign-in/", staff_views.sign_in, name="sign_in"),
    path("sign-out/", staff_views.sign_out, name="sign_out"),
    path("facilities/<str:code>/sessions/", staff_views.sessions, name="sessions"),
    path("facilities/<str:code>/sessions/new/", staff_views.session_new, name="session_new"),
    path(
        "facilities/<str:code>/sessions/<str:public_id>/edit/",
        staff_views.session_edit,
        name="session_edit",
    ),
    path(
        "facilities/<str:code>/sessions/<str:public_id>/cancel/",
        staff_views.session_cancel,
        name="session_cancel",
    ),
]
