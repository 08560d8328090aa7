"""Opaque public identifiers: random, unguessable, never a database sequence."""

import secrets

# Crockford's base32 alphabet: no I, L, O or U, so ids survive being read aloud and retyped.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 32 characters: the low 5 bits of a random byte pick one, each as likely as the others.
_PICK = bytes.maketrans(bytes(range(256)), "".join(ALPHABET[b % 32] for b in range(256)).encode())


def public_id(length: int = 12) -> str:
    """Return a new random id of the given length from an unambiguous alphabet."""
    # One read of the system's random source for the whole id, not one per character.
    return secrets.token_bytes(length).translate(_PICK).decode()
