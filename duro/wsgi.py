"""WSGI entry point (gunicorn duro.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duro.settings")
application = get_wsgi_application()
