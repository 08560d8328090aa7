"""Staff pages: sign-in, and planning sessions at the facilities a staff member may plan for."""

from django.urls import path

from vaxnet.booking import staff_views
from vaxnet.core import staff_auth_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.home, name="home"),
    path("sign-in/", staff_auth_views.sign_in, name="sign_in"),
    path("sign-in/code/", staff_auth_views.sign_in_code, name="sign_in_code"),
    path("sign-out/", staff_views.sign_out, name="sign_out"),
    path("authenticator/", staff_auth_views.totp_enrol, name="totp_enrol"),
    path("authenticator/remove/", staff_auth_views.totp_disable, name="totp_disable"),
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
