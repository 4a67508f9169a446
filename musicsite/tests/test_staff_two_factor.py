"""Optional two-factor sign-in for staff with django-otp (issue 21, item 5).

With ADMIN_REQUIRE_2FA on, the admin is django-otp's OTPAdminSite: a password alone does not
reach it, a password and a token from the user's own TOTP device does. Staff enrol a device in
the admin (its QR code and otpauth:// URL) before it is switched on; `addstatictoken` gives a
one-time backup code for the first superuser or a lost phone.
"""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a-long-right-password-42"


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ann():
    return get_user_model().objects.create_superuser("ann", "ann@example.com", PASSWORD)


@pytest.fixture
def phone(ann):
    return TOTPDevice.objects.create(user=ann, name="phone", confirmed=True)


def token_of(device):
    """What the staff member's authenticator app shows now."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


def sign_in(client, **fields):
    return client.post(LOGIN, {"username": "ann", "password": PASSWORD, **fields})


def reaches_admin(client):
    return client.get("/admin/").status_code == 200


def test_with_2fa_required_the_sign_in_form_asks_for_a_token(client, settings):
    settings.ADMIN_REQUIRE_2FA = True

    page = client.get(LOGIN).content.decode()

    assert 'name="otp_token"' in page


def test_with_2fa_required_a_password_alone_does_not_reach_the_admin(client, settings, phone):
    settings.ADMIN_REQUIRE_2FA = True

    answer = sign_in(client)

    assert answer.status_code == 200
    assert "Please enter your OTP token" in answer.content.decode()
    assert not reaches_admin(client)
    assert client.get("/admin/dashboard/").status_code == 302


def test_with_2fa_required_a_password_and_a_valid_token_reach_the_admin(client, settings, phone):
    settings.ADMIN_REQUIRE_2FA = True

    answer = sign_in(client, otp_device=phone.persistent_id, otp_token=token_of(phone))

    assert answer.status_code == 302
    assert reaches_admin(client)


def test_with_2fa_required_a_wrong_token_does_not_reach_the_admin(client, settings, phone):
    settings.ADMIN_REQUIRE_2FA = True
    wrong = f"{(int(token_of(phone)) + 1) % 10**6:06d}"

    answer = sign_in(client, otp_device=phone.persistent_id, otp_token=wrong)

    assert answer.status_code == 200
    assert not reaches_admin(client)


def test_with_2fa_required_staff_without_a_device_cannot_get_in(client, settings, ann):
    settings.ADMIN_REQUIRE_2FA = True

    for fields in ({}, {"otp_token": "123456"}):
        assert sign_in(client, **fields).status_code == 200
        assert not reaches_admin(client)


def test_with_2fa_required_a_session_signed_in_by_password_is_not_let_in(client, settings, ann):
    client.force_login(ann)  # e.g. signed in before 2FA was switched on
    assert reaches_admin(client)

    settings.ADMIN_REQUIRE_2FA = True

    assert not reaches_admin(client)
    assert client.get("/admin/subscriptions/subscriber/").status_code == 302


def test_without_2fa_required_a_password_is_enough(client, settings, ann):
    settings.ADMIN_REQUIRE_2FA = False

    assert sign_in(client).status_code == 302
    assert reaches_admin(client)


def test_staff_enrol_a_totp_device_in_the_admin_and_see_its_qr_code(client, ann):
    client.force_login(ann)

    form = client.get("/admin/otp_totp/totpdevice/add/").content.decode()
    key = re.search(r'name="key" value="([0-9a-f]+)"', form).group(1)  # made for this device
    added = client.post(
        "/admin/otp_totp/totpdevice/add/",
        {
            "user": ann.pk,
            "name": "phone",
            "confirmed": "on",
            "key": key,
            "step": 30,
            "t0": 0,
            "digits": 6,
            "tolerance": 1,
            "drift": 0,
            "throttling_failure_count": 0,
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    device = TOTPDevice.objects.get(user=ann)

    config = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/")
    qr_code = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/")

    assert "otpauth://totp/funky-music" in config.content.decode()
    assert qr_code.status_code == 200
    assert qr_code["Content-Type"] == "image/svg+xml"


def test_staff_see_only_their_own_devices(client, phone):
    bob = get_user_model().objects.create_user("bob", "bob@example.com", PASSWORD, is_staff=True)
    bob.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["otp_totp", "otp_static"])
    )
    own = TOTPDevice.objects.create(user=bob, name="bob's phone", confirmed=True)
    client.force_login(bob)

    listing = client.get("/admin/otp_totp/totpdevice/").content.decode()
    others = client.get(f"/admin/otp_totp/totpdevice/{phone.pk}/config/")

    assert "bob&#x27;s phone" in listing or "bob's phone" in listing
    assert f"/admin/otp_totp/totpdevice/{phone.pk}/" not in listing
    assert others.status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{own.pk}/config/").status_code == 200


def test_a_static_backup_code_lets_the_first_superuser_in_once(client, settings, ann):
    out = io.StringIO()
    call_command("addstatictoken", "ann", stdout=out)
    code = out.getvalue().strip()
    device = StaticDevice.objects.get(user=ann)
    settings.ADMIN_REQUIRE_2FA = True

    assert sign_in(client, otp_device=device.persistent_id, otp_token=code).status_code == 302
    assert reaches_admin(client)
    client.logout()
    assert sign_in(client, otp_device=device.persistent_id, otp_token=code).status_code == 200
    assert not reaches_admin(client)
