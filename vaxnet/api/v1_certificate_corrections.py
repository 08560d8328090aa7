"""Certificate API."""

from ninja import Router

router = Router(tags=["certificates"])
