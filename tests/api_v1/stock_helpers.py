"""Helpers for the v1 stock API tests: the paths of a store's endpoints."""

from vaxnet.stock.models import Store


def stock(store: Store, action: str = "") -> str:
    """Return the API path of the store, or of one of its actions (`receipts`, `moves`…)."""
    return f"stock/stores/{store.public_id}{'/' + action if action else ''}"
