"""Reads about facilities."""

from typing import Any


def home_summary() -> dict[str, Any]:
    """Return the figures the home page shows."""
    return {}
