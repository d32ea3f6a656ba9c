"""WSGI entry point (`orderreport serve` runs it under granian)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderreport.settings")

application = get_wsgi_application()
