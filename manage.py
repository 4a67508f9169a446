#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# What every command exits with when the environment cannot configure the site (the daily
# sender documents 2 for a configuration error; a scheduler reads it).
CONFIGURATION_ERROR = 2


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 -- reads the environment: every check in settings runs
    except ImproperlyConfigured as error:
        # One line naming the variable, no traceback: what an operator reads in a log drain.
        message = " ".join(str(error).split())
        sys.stderr.write(f"funky-music: configuration error: {message}\n")
        sys.exit(CONFIGURATION_ERROR)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
