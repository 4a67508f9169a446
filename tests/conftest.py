"""Fixtures of the cross-app tests: real Celery workers on a real broker (tests/workers.py)."""

from .workers import make_workers  # noqa: F401
