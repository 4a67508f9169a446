"""WSGI entry point: gunicorn serves `musicsite.wsgi` (see Procfile)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")

application = get_wsgi_application()
