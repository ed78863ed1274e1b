"""Logo uploads: refuse what is not a plain raster image, re-encode what is.

Pure (bytes in, bytes out): Pillow decodes the upload, the format is read
from the bytes (never trusted from the name or content type, which must
agree with it), and the image is re-encoded as a fresh PNG, so metadata,
embedded profiles, trailing data and anything active are gone::

    clean = logo_clean(data=upload.read(), name="logo.png", content_type="image/png")
    clean.sha256, clean.png, clean.width, clean.height
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAX_BYTES = 512 * 1024
MIN_SIDE, MAX_SIDE = 16, 2048
OUTPUT_BOX = (800, 400)  # the page shows at most 10rem × 2.75rem; emails 200 px wide
ALLOWED = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"),
           "WEBP": ("webp", "image/webp")}
EXTENSIONS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG",
                 "image/webp": "WEBP"}


class LogoRefused(ValueError):
    """The upload is not an acceptable logo; the message says why, for the merchant."""


@dataclass(frozen=True)
class CleanLogo:
    png: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


def _claimed_format(name: str, content_type: str) -> str | None:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension == "svg" or "svg" in content_type.lower():
        raise LogoRefused("SVG logos are not accepted (they can carry scripts): "
                          "upload a PNG, JPEG or WebP.")
    by_name = EXTENSIONS.get(extension) if extension else None
    by_type = CONTENT_TYPES.get(content_type.lower().split(";")[0].strip())
    if extension and by_name is None:
        raise LogoRefused(f"“.{extension}” files are not accepted: upload a PNG, JPEG or WebP.")
    return by_name or by_type


def logo_clean(*, data: bytes, name: str = "", content_type: str = "") -> CleanLogo:
    if len(data) > MAX_BYTES:
        raise LogoRefused(f"The logo is {len(data) // 1024} KB; the limit is "
                          f"{MAX_BYTES // 1024} KB.")
    if not data:
        raise LogoRefused("The logo file is empty.")
    claimed = _claimed_format(name, content_type)
    if data.lstrip()[:1] == b"<":
        raise LogoRefused("SVG or HTML files are not accepted: upload a PNG, JPEG or WebP.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED))
            actual = image.format or ""
            width, height = image.size
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                raise LogoRefused(f"The logo is {width}×{height} px; each side must be "
                                  f"{MIN_SIDE}–{MAX_SIDE} px.")
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning,
            Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise LogoRefused("This file is not a readable PNG, JPEG or WebP image.") from exc
    if claimed and claimed != actual:
        raise LogoRefused(f"The file says it is {claimed} but its contents are {actual}: "
                          "upload the image in its real format.")
    converted = image.convert("RGBA")
    converted.thumbnail(OUTPUT_BOX)
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)  # a fresh file: no metadata survives
    return CleanLogo(png=out.getvalue(), width=converted.width, height=converted.height)
