"""Fixtures every test can use: fresh cache, no collectstatic needed, loopback fakes."""

import pytest

pytest_plugins = ["tests.fakes.spotify", "tests.fakes.mailgun"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs `collectstatic`; tests of pages do not.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import caches

    # Every alias: the rate-limit counters live apart from the page cache.
    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()
