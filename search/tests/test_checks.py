"""The Spotify configuration system check."""

import pytest
from django.core.checks import ERROR, INFO, WARNING
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from search.checks import spotify_configuration_check


@pytest.fixture
def unconfigured(settings):
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = settings.SPOTIFY_TOKEN = ""
    settings.SPOTIFY_DEMO_CATALOG = False
    return settings


def test_production_without_credentials_is_an_error_naming_the_variables(unconfigured):
    [message] = spotify_configuration_check(None)

    assert message.level == ERROR
    assert message.id == "search.E001"
    for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_TOKEN"):
        assert name in message.msg


def test_the_check_is_registered_and_fails_manage_py_check(unconfigured):
    with pytest.raises(SystemCheckError, match="search.E001"):
        call_command("check", "search")


def test_client_credentials_pass(unconfigured):
    unconfigured.SPOTIFY_CLIENT_ID = "id"
    unconfigured.SPOTIFY_CLIENT_SECRET = "secret"

    assert spotify_configuration_check(None) == []
    call_command("check", "search")


def test_half_a_pair_names_the_missing_half(unconfigured):
    unconfigured.SPOTIFY_CLIENT_ID = "id"

    messages = spotify_configuration_check(None)

    assert [m.id for m in messages] == ["search.E002", "search.E001"]
    assert "SPOTIFY_CLIENT_SECRET is not set" in messages[0].msg


def test_raw_token_works_but_warns_that_it_expires(unconfigured):
    unconfigured.SPOTIFY_TOKEN = "raw"

    [message] = spotify_configuration_check(None)

    assert (message.level, message.id) == (WARNING, "search.W003")


def test_development_without_credentials_says_the_demo_catalog_is_in_use(unconfigured):
    unconfigured.DEBUG = True
    unconfigured.SPOTIFY_DEMO_CATALOG = True

    [message] = spotify_configuration_check(None)

    assert (message.level, message.id) == (INFO, "search.I001")
    assert "demo catalog" in message.msg


def test_development_without_credentials_or_demo_warns(unconfigured):
    unconfigured.DEBUG = True

    [message] = spotify_configuration_check(None)

    assert (message.level, message.id) == (WARNING, "search.W001")
