"""Logo uploads: only real PNG/JPEG/WebP, bounded, re-encoded without metadata."""

import io

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from appearance.logos import LogoRefused, logo_clean
from tests.appearance.conftest import image_bytes


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "logo.png"), ("JPEG", "logo.jpg"),
                                           ("WEBP", "logo.webp")])
def test_raster_logos_are_re_encoded_as_png(fmt, name):
    clean = logo_clean(data=image_bytes(fmt), name=name, content_type="")
    assert clean.png.startswith(b"\x89PNG") and (clean.width, clean.height) == (120, 60)
    assert len(clean.sha256) == 64


def test_metadata_and_trailing_bytes_are_stripped():
    info = PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(out, format="PNG", pnginfo=info)
    clean = logo_clean(data=out.getvalue() + b"<html>trailing</html>", name="a.png")
    assert b"script" not in clean.png and b"trailing" not in clean.png
    assert Image.open(io.BytesIO(clean.png)).info.get("Comment") is None


def test_large_logos_are_scaled_down():
    clean = logo_clean(data=image_bytes("PNG", size=(1600, 400)), name="wide.png")
    assert (clean.width, clean.height) == (800, 200)


@pytest.mark.parametrize(("data", "name", "content_type", "message"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg",
     "image/svg+xml", "SVG logos are not accepted"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "logo.png", "image/png", "SVG or HTML"),
    (image_bytes("JPEG"), "logo.png", "image/png", "says it is PNG but its contents are JPEG"),
    (image_bytes("PNG"), "logo.jpg", "", "says it is JPEG but its contents are PNG"),
    (image_bytes("GIF"), "logo.png", "image/png", "not a readable PNG, JPEG or WebP"),
    (image_bytes("GIF"), "logo.gif", "image/gif", "“.gif” files are not accepted"),
    (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "logo.png", "", "not a readable"),
    (b"", "logo.png", "", "empty"),
    (b"\x00" * (512 * 1024 + 1), "logo.png", "", "limit is 512 KB"),
    (image_bytes("PNG", size=(8, 8)), "tiny.png", "", "16–2048 px"),
    (image_bytes("PNG", size=(3000, 100)), "huge.png", "", "16–2048 px"),
])
def test_bad_uploads_are_refused_with_a_clear_message(data, name, content_type, message):
    with pytest.raises(LogoRefused) as refused:
        logo_clean(data=data, name=name, content_type=content_type)
    assert message in str(refused.value)
