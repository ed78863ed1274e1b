"""Fixtures of the appearance tests: images, axe-core, browsers (``brand``: tests/conftest)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

AXE_VERSION = "4.10.3"


def image_bytes(fmt: str = "PNG", size=(120, 60), colour=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


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
