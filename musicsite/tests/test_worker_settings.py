"""Settings of the workers, the broker and Sentry, read from the environment at startup."""

import json

import pytest

from .test_settings import manage, production_env

SHOW = """
import json
from django.conf import settings
from musicsite.celery import app
import sentry_sdk
client = sentry_sdk.get_client()
print(json.dumps({
    "broker": app.conf.broker_url,
    "broker_ssl": {k: str(v) for k, v in (app.conf.broker_use_ssl or {}).items()},
    "queue": app.conf.task_default_queue,
    "concurrency": app.conf.worker_concurrency,
    "acks_late": app.conf.task_acks_late,
    "reject_on_worker_lost": app.conf.task_reject_on_worker_lost,
    "prefetch": app.conf.worker_prefetch_multiplier,
    "serializer": app.conf.task_serializer,
    "accept": list(app.conf.accept_content),
    "visibility": app.conf.broker_transport_options.get("visibility_timeout"),
    "setting": settings.CELERY_BROKER_URL,
    "sentry_dsn": client.dsn if client.is_active() else None,
    "sentry_integrations": sorted(client.integrations) if client.is_active() else [],
}))
"""


def show(tmp_path, **variables):
    env = production_env(tmp_path, CELERY_BROKER_URL=None, REDIS_URL=None, SENTRY_DSN=None)
    env.update({key: value for key, value in variables.items() if value is not None})
    result = manage("shell", "-c", SHOW, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_broker_the_run_stays_in_process_and_sentry_is_off(tmp_path):
    shown = show(tmp_path)

    assert shown["setting"] == ""  # the command runs in-process
    assert shown["sentry_dsn"] is None


def test_the_broker_is_celery_broker_url_else_the_redis_of_redis_url(tmp_path):
    assert show(tmp_path, REDIS_URL="redis://cache:6379/0")["broker"] == "redis://cache:6379/0"
    both = show(
        tmp_path,
        REDIS_URL="redis://cache:6379/0",
        CELERY_BROKER_URL="amqp://user:pw@rabbit:5672/funky",
    )
    assert both["broker"] == "amqp://user:pw@rabbit:5672/funky"
    assert (
        show(tmp_path, REDIS_URL="redis://cache:6379/0", CELERY_BROKER_URL="none")["setting"] == ""
    )


def test_heroku_key_value_store_tls_is_used_without_verifying_its_certificate(tmp_path):
    shown = show(tmp_path, REDIS_URL="rediss://:secret@ec2.example.com:6380")

    assert shown["broker"].startswith("rediss://")
    assert shown["broker_ssl"] == {"ssl_cert_reqs": "0"}  # ssl.CERT_NONE


def test_tasks_are_acknowledged_late_one_at_a_time_as_json(tmp_path):
    shown = show(tmp_path, REDIS_URL="redis://cache:6379/0", WORKER_CONCURRENCY="3")

    assert (shown["acks_late"], shown["reject_on_worker_lost"], shown["prefetch"]) == (
        True,
        True,
        1,
    )
    assert (shown["serializer"], shown["accept"]) == ("json", ["json"])
    assert shown["concurrency"] == 3
    assert shown["queue"] == "funky-daily"
    assert 60 <= shown["visibility"] <= 600  # minutes, not Celery's hour


@pytest.mark.parametrize(
    ("name", "value"), [("WORKER_CONCURRENCY", "0"), ("CELERY_VISIBILITY_TIMEOUT", "soon")]
)
def test_a_bad_worker_setting_stops_startup_naming_it(tmp_path, name, value):
    env = production_env(tmp_path, **{name: value})

    result = manage("check", env=env)

    assert result.returncode != 0
    assert name in result.stderr


def test_sentry_reports_with_its_django_and_celery_integrations_when_a_dsn_is_set(tmp_path):
    # A loopback DSN nobody listens on: nothing is sent anywhere during the test.
    shown = show(tmp_path, SENTRY_DSN="http://public@127.0.0.1:9/1")

    assert shown["sentry_dsn"] == "http://public@127.0.0.1:9/1"
    assert {"django", "celery"} <= set(shown["sentry_integrations"])
