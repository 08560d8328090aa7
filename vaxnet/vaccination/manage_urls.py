"""Pages for facility managers and administrators (manage).

The region and facility forms of a page share a name: reverse it with `region=` or `facility=`.
"""

from django.urls import path

from vaxnet.vaccination import manage_views as views

app_name = "manage"

urlpatterns = [
    path("", views.home, name="home"),
    path("facility/<str:code>/staff/", views.staff, name="staff"),
    path("facility/<str:code>/staff/add/", views.staff_add, name="staff_add"),
    path("facility/<str:code>/staff/<int:pk>/active/", views.staff_active, name="staff_active"),
    path("region/<str:region>/sessions/", views.sessions, name="sessions"),
    path("facility/<str:facility>/sessions/", views.sessions, name="sessions"),
    path("region/<str:region>/today/", views.today, name="today"),
    path("facility/<str:facility>/today/", views.today, name="today"),
    path("region/<str:region>/aefi/", views.aefi, name="aefi"),
    path("facility/<str:facility>/aefi/", views.aefi, name="aefi"),
]
