"""Opaque, prefixed, unguessable identifiers: ``new_id("cks")`` → ``cks_3f…``."""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """24 base62 characters carry ~143 bits of randomness."""
    return f"{prefix}_{random_base62(length)}"
