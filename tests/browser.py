"""Browser fixtures: Debian's Chromium driven by Playwright, a local "merchant shop", and
axe-core (the ``axe_source`` fixture, :func:`axe_violations`, :func:`serious_violations`).

tests/conftest.py loads this module as a plugin, so its fixtures are everywhere. Tests
that use them are marked ``browser`` and skip when Chromium is missing (CI
turns that skip into a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("DURO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
AXE_VERSION = "4.10.3"
# evaluate() has no time-out of its own: axe gets 30 s, then the test fails instead of hanging.
AXE_WITHIN = ("() => Promise.race([axe.run(document, {options}), new Promise((_, no) => "
              "setTimeout(() => no(new Error('axe.run took over 30 s')), 30000))])")


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the
    # test itself are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def page_without_js(chromium):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


class _ShopHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        body = (b"<!doctype html><title>Shop</title><h1>Thanks for your order</h1>"
                b"<p>Confirming your payment...</p>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def shop():
    """A merchant's site on 127.0.0.1 to return to; ``shop.hits`` lists the paths it served."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShopHandler)
    server.hits = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


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


def axe_violations(page, axe_source: str, *, options: str = "{resultTypes: ['violations']}",
                   impacts: tuple[str, ...] | None = None) -> list:
    """axe-core run on ``page`` (a Page or a Frame): ``(rule, impact, targets)`` of each
    violation, of any impact unless ``impacts`` names some."""
    page.add_script_tag(content=axe_source)
    found = page.evaluate(AXE_WITHIN.format(options=options))
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in found["violations"] if impacts is None or v["impact"] in impacts]


def serious_violations(page, axe_source: str) -> list:
    """The serious and critical violations only: ``(rule, first five targets)``."""
    return [(rule, targets[:5]) for rule, _, targets in
            axe_violations(page, axe_source, impacts=("serious", "critical"))]
