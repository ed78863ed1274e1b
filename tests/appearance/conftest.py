"""Fixtures of the appearance tests: images, axe-core, browsers (``brand``: tests/conftest)."""

from __future__ import annotations

import io

from PIL import Image

from tests.browser import AXE_VERSION, axe_source  # noqa: F401 - moved; old imports keep working


def image_bytes(fmt: str = "PNG", size=(120, 60), colour=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()
