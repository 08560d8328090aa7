"""Certificate keys and revocations, where verifiers look for them."""

from django.urls import path

from vaxnet.certificates import publish_views

urlpatterns = [
    path(".well-known/jwks.json", publish_views.jwks, name="certificates-jwks"),
    path(".well-known/did.json", publish_views.did_document, name="certificates-did"),
    path(".well-known/dcc/dsc.json", publish_views.dsc_list, name="certificates-dsc"),
    path(".well-known/crl/<str:kid>.json", publish_views.shc_crl, name="certificates-crl"),
    path(
        ".well-known/vaxnet/revocations.jws",
        publish_views.revocation_list,
        name="certificates-revocations",
    ),
]
