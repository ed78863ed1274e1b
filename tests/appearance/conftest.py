"""Fixtures of the appearance tests: images, publishing helpers, axe-core, browsers."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from appearance.logos import logo_clean
from appearance.services import store_config_draft_update, store_config_publish

AXE_VERSION = "4.10.3"


def image_bytes(fmt: str = "PNG", size=(120, 60), colour=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def brand(acme, django_capture_on_commit_callbacks):
    """Save ``changes`` (and optionally a logo) to Acme's draft and publish it."""

    def publish(logo: bytes | None = None, **changes):
        clean = logo_clean(data=logo, name="logo.png") if logo else None
        with django_capture_on_commit_callbacks(execute=True):
            store_config_draft_update(merchant=acme.merchant, changes=changes, logo=clean)
            return store_config_publish(merchant=acme.merchant)

    return publish


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser bundle, fetched once with the npm client into the data folder."""
    target = Path(settings.DATA_DIR) / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm is needed to fetch axe-core {AXE_VERSION} for the a11y check")
        work = target.parent
        work.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"], cwd=work,
                              capture_output=True, text=True, timeout=120, check=False)
        tarball = work / f"axe-core-{AXE_VERSION}.tgz"
        if done.returncode != 0 or not tarball.exists():
            pytest.skip(f"npm pack axe-core@{AXE_VERSION} failed: {done.stderr.strip()[:300]}")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/axe.min.js")
            target.write_bytes(member.read())
        tarball.unlink()
    return target.read_text()
