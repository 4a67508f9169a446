"""Staff sign-in is throttled per account and per client address (issue 21, item 5).

Every case signs in through /admin/login/ with the test client, as a browser would.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a-long-right-password-42"
ATTACKER = "203.0.113.10"
ELSEWHERE = "198.51.100.20"


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    # Each wrong password is hashed; the production hasher's million rounds only slow tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff():
    users = get_user_model().objects
    return {name: users.create_superuser(name, f"{name}@example.com", PASSWORD) for name in "ab"}


def sign_in(client, username, password, *, address, **headers):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def signed_in(client):
    return client.get("/admin/").status_code == 200


def test_thirty_wrong_passwords_lock_the_account_and_say_when_to_try_again(client, settings, staff):
    answers = [sign_in(client, "a", f"guess-{n}", address=ATTACKER) for n in range(30)]

    assert answers[-1].status_code == 429
    limit = settings.AXES_FAILURE_LIMIT
    assert 1 <= limit < 30
    assert [answer.status_code for answer in answers[: limit - 1]] == [200] * (limit - 1)
    assert {answer.status_code for answer in answers[limit - 1 :]} == {429}
    page = answers[-1].content.decode()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert "Too many failed sign-ins" in page
    assert f"Try again in {minutes} minutes" in page
    assert answers[-1]["Retry-After"] == str(minutes * 60)


def test_the_lockout_page_is_the_admin_s_own_style_within_the_csp(client, settings, staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        locked = sign_in(client, "a", f"guess-{n}", address=ATTACKER)

    page = locked.content.decode()
    assert locked.status_code == 429
    assert "funky-music administration" in page  # the admin's header, from its base template
    assert 'href="/static/admin/css/base.css"' in page
    assert "Traceback" not in page
    policy = locked["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_right_password_is_refused_until_the_cool_off_ends(client, settings, staff):
    for n in range(30):
        sign_in(client, "a", f"guess-{n}", address=ATTACKER)

    assert sign_in(client, "a", PASSWORD, address=ATTACKER).status_code == 429
    assert not signed_in(client)
    # Per account: the same account from anywhere else is locked too.
    assert sign_in(client, "a", PASSWORD, address=ELSEWHERE).status_code == 429
    assert not signed_in(client)
    # Per address: another account from the attacker's address is locked too.
    assert sign_in(client, "b", PASSWORD, address=ATTACKER).status_code == 429
    assert not signed_in(client)

    later = timezone.now() + settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert sign_in(client, "a", PASSWORD, address=ATTACKER).status_code == 302
        assert signed_in(client)


def test_another_account_from_another_address_is_unaffected(client, staff):
    for n in range(30):
        sign_in(client, "a", f"guess-{n}", address=ATTACKER)

    answer = sign_in(client, "b", PASSWORD, address=ELSEWHERE)

    assert answer.status_code == 302
    assert signed_in(client)


def test_behind_herokus_router_the_last_forwarded_hop_is_the_address(client, settings, staff):
    settings.TRUST_X_FORWARDED_FOR = True
    router = "10.1.2.3"
    for n in range(30):
        # Whatever the client puts first, the router appends the address it saw.
        forwarded = f"192.0.2.{n}, {ATTACKER}"
        sign_in(client, "a", f"guess-{n}", address=router, HTTP_X_FORWARDED_FOR=forwarded)

    forged = sign_in(
        client, "b", PASSWORD, address=router, HTTP_X_FORWARDED_FOR=f"{ELSEWHERE}, {ATTACKER}"
    )
    assert forged.status_code == 429
    # The router's own address is not what is counted: another client behind it signs in.
    other = sign_in(client, "b", PASSWORD, address=router, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert other.status_code == 302


def test_without_a_trusted_router_x_forwarded_for_is_ignored(client, settings, staff):
    settings.TRUST_X_FORWARDED_FOR = False
    for n in range(30):
        sign_in(client, "a", f"guess-{n}", address=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    other_header = sign_in(client, "b", PASSWORD, address=ATTACKER, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert other_header.status_code == 429
