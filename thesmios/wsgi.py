"""WSGI entry point (gunicorn thesmios.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thesmios.settings")

application = get_wsgi_application()
