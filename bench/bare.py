"""The bare baseline for bench/hydrate.py: one Django view, one indexed SELECT.

A single-file Django project. ``GET /s/{token}`` reads the same checkout-session row
hydrate reads (same database, same schema, same persistent connection settings) with
one raw SELECT and answers a small JSON object: what the framework costs for "look a
row up and answer it". Two stacks, chosen by ``BENCH_BARE_STACK``:

- ``minimal`` (the default): no middleware, no apps: the floor;
- ``startproject``: the middleware and apps ``django-admin startproject`` gives every
  new project: what a plain Django site costs before it does anything of its own.

Served the same way as Duro::

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/duro_bench \\
        .venv/bin/gunicorn bench.bare -w 2 -b 127.0.0.1:8101
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.http import Http404, JsonResponse
from django.urls import path

STACK = os.environ.get("BENCH_BARE_STACK", "minimal")
STARTPROJECT_APPS = ["django.contrib.admin", "django.contrib.auth",
                     "django.contrib.contenttypes", "django.contrib.sessions",
                     "django.contrib.messages", "django.contrib.staticfiles"]
STARTPROJECT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
_url = urlsplit(os.environ.get("BENCH_DATABASE_URL",
                               "postgres://postgres@127.0.0.1:5432/duro_bench"))
settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-bare-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=STARTPROJECT_MIDDLEWARE if STACK == "startproject" else [],
    INSTALLED_APPS=STARTPROJECT_APPS if STACK == "startproject" else [],
    USE_TZ=True,
    STATIC_URL="static/",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True, "OPTIONS": {"context_processors": []}}],
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "postgres", "HOST": _url.hostname, "PORT": _url.port or 5432,
        "OPTIONS": {"options": "-c search_path=test"},
        "CONN_MAX_AGE": 60,
    }},
)
django.setup()


def session_row(request, token: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, status, amount, currency, reference, expires_at "
                       "FROM checkout_checkoutsession WHERE token = %s", [token])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return JsonResponse({"data": {"id": row[0], "status": row[1], "amount": row[2],
                                  "currency": row[3], "reference": row[4],
                                  "expiresAt": row[5].isoformat()}})


urlpatterns = [path("s/<str:token>", session_row)]
application = WSGIHandler()
