"""Opaque public identifiers: random, unguessable, never a database sequence."""

import secrets

# Crockford's base32 alphabet: no I, L, O or U, so ids survive being read aloud and retyped.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def public_id(length: int = 12) -> str:
    """Return a new random id of the given length from an unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
