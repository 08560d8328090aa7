"""Stock pages: stores, stock moves, transfers, requisitions, adjustments and the cold chain."""

from django.urls import path

from vaxnet.stock import coldchain_views, resolution_views, views

app_name = "stock"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/<str:public_id>/", views.store_detail, name="store"),
    path("stores/<str:public_id>/receive/", views.receive, name="receive"),
    path("stores/<str:public_id>/waste/", views.waste, name="waste"),
    path("stores/<str:public_id>/count/", views.count, name="count"),
    path("stores/<str:public_id>/transfers/new/", views.dispatch, name="dispatch"),
    path(
        "stores/<str:public_id>/requisitions/new/",
        views.requisition_new,
        name="requisition_new",
    ),
    path(
        "stores/<str:public_id>/equipment/new/", coldchain_views.equipment_new, name="equipment_new"
    ),
    path(
        "stores/<str:public_id>/equipment/<str:equipment_id>/key/",
        coldchain_views.equipment_key,
        name="equipment_key",
    ),
    path(
        "stores/<str:public_id>/equipment/<str:equipment_id>/readings/new/",
        coldchain_views.reading_new,
        name="reading_new",
    ),
    path(
        "stores/<str:public_id>/excursions/<str:excursion_id>/acknowledge/",
        coldchain_views.excursion_acknowledge,
        name="excursion_acknowledge",
    ),
    path(
        "stores/<str:public_id>/batches/<str:batch_id>/recall/",
        resolution_views.batch_recall,
        name="batch_recall",
    ),
    path("transfers/<str:public_id>/receive/", views.transfer_receive, name="transfer_receive"),
    path(
        "transfers/<str:public_id>/resolve/",
        resolution_views.transfer_resolve,
        name="transfer_resolve",
    ),
    path("requisitions/<str:public_id>/", views.requisition_detail, name="requisition"),
    path(
        "requisitions/<str:public_id>/approve/",
        views.requisition_approve,
        name="requisition_approve",
    ),
    path(
        "requisitions/<str:public_id>/reject/",
        views.requisition_reject,
        name="requisition_reject",
    ),
    path(
        "requisitions/<str:public_id>/dispatch/",
        views.requisition_dispatch,
        name="requisition_dispatch",
    ),
    path("adjustments/", views.adjustments, name="adjustments"),
    path(
        "adjustments/<str:public_id>/decide/",
        views.adjustment_decide,
        name="adjustment_decide",
    ),
]
