"""The Celery app the workers run (`celery -A musicsite worker`); tasks live with their apps.

Settings come from Django's, under the CELERY_ prefix (musicsite/settings.py). Nothing here
imports app code: the daily run's tasks are found in subscriptions/daily/tasks.py.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")

app = Celery("musicsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["subscriptions.daily"])
