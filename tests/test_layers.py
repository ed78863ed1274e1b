"""Imports run one way: a lower app never imports a higher one, and DRF stays at the API edge.

Every module of the apps is parsed with :mod:`ast` (nothing is imported, so a
bad import fails here even where nothing runs it) and every ``import`` and
``from … import`` is checked, those inside functions and ``if TYPE_CHECKING``
blocks too; migrations are left out. The order, highest first:

    dashboard → checkout → billing → {appearance, webhooks} → duro

The two peers do not import each other either. The one exception is
``duro/urls.py``, which wires the apps' URLconfs, API and views into the site.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEVEL = {"dashboard": 4, "checkout": 3, "billing": 2, "appearance": 1, "webhooks": 1, "duro": 0}
ORDER = "dashboard → checkout → billing → {appearance, webhooks} → duro"
URL_WIRING = "duro/urls.py"
WIRED_MODULES = {"urls", "api", "views"}
DRF_PACKAGES = {"rest_framework", "drf_spectacular", "djangorestframework_camel_case"}
DRF_EDGE = "*/api.py, */serializers.py, duro/api/ (and duro/urls.py, which wires the API)"


def module_paths() -> list[str]:
    """Every module of the apps, as a path relative to the repository, migrations aside."""
    return sorted(
        path.relative_to(ROOT).as_posix()
        for app in LEVEL for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def _package_of(relpath: str) -> list[str]:
    return relpath.removesuffix(".py").split("/")[:-1]


def imports_of(relpath: str, source: str) -> list[tuple[int, str]]:
    """``(line, dotted module)`` for every import in ``source``, wherever it stands.

    ``from a import b`` reports ``a.b`` when ``a`` is a top-level package (so that
    ``from checkout import views`` names the module it brings in); relative
    imports are resolved against ``relpath``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=relpath)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = []
            if node.level:
                package = _package_of(relpath)
                base = package[:len(package) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
            if "." in module:
                found.append((node.lineno, module))
            else:
                found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _drf_allowed(relpath: str) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    return (name in {"api.py", "serializers.py"} or relpath.startswith("duro/api/")
            or relpath == URL_WIRING)


def violations(relpath: str, source: str) -> list[str]:
    """What in this module runs against the layer order or reaches for DRF off the edge."""
    app = relpath.split("/", 1)[0]
    found = []
    for line, module in imports_of(relpath, source):
        parts = module.split(".")
        top = parts[0]
        if top in LEVEL and top != app and LEVEL[top] >= LEVEL[app]:
            wiring = relpath == URL_WIRING and len(parts) > 1 and parts[1] in WIRED_MODULES
            if not wiring:
                found.append(f"{relpath}:{line} imports {module}: {app} must not import {top} "
                             f"({ORDER})")
        if top in DRF_PACKAGES and not _drf_allowed(relpath):
            found.append(f"{relpath}:{line} imports {module}: DRF only in {DRF_EDGE}")
    return found


def test_every_app_is_scanned():
    paths = module_paths()
    for app in LEVEL:
        assert any(p.startswith(f"{app}/") for p in paths), f"no module found in {app}/"
    assert not any("/migrations/" in p for p in paths)


def test_imports_run_one_way_and_drf_stays_at_the_api_edge():
    found = [problem for relpath in module_paths()
             for problem in violations(relpath, (ROOT / relpath).read_text())]
    assert not found, "Imports against the layers:\n  " + "\n  ".join(found)


def test_the_check_sees_every_kind_of_import():
    """The checker itself: function-local, relative, aliased and peer imports are caught;
    the allowed ones are not."""
    source = (
        "import billing.models\n"
        "from duro.modes import current_mode\n"
        "from . import tokens\n"
        "def preview():\n"
        "    from checkout import views\n"
        "    import checkout.models as m\n"
        "    from rest_framework import serializers\n"
        "    from webhooks.events import event_emit\n"
    )
    found = violations("appearance/admin.py", source)
    assert [p.split(":", 2)[1].split(" ")[0] for p in found] == ["1", "5", "6", "7", "8"]
    assert found[1].startswith("appearance/admin.py:5 imports checkout.views: appearance must "
                               "not import checkout")
    assert "DRF only in" in found[3] and "appearance must not import webhooks" in found[4]
    assert violations("billing/rails/card.py", "from ..models import Card\n") == []
    assert violations("duro/urls.py", "from checkout.urls import page_urls\n") == []
    assert violations("duro/urls.py", "from checkout.pay import pay_session\n") != []
    assert violations("billing/api.py", "from rest_framework import generics\n") == []
