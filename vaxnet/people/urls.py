from django.urls import path

from vaxnet.people import views

app_name = "people"

urlpatterns = [
    path("", views.account_home, name="account"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-in/resend/", views.sign_in_resend, name="sign_in_resend"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("members/add/", views.member_add, name="member_add"),
    path("members/<str:reference>/edit/", views.member_edit, name="member_edit"),
    path("members/<str:reference>/remove/", views.member_remove, name="member_remove"),
]
