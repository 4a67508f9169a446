"""Staff cannot give an inbox more than MAX_MOODS_PER_SUBSCRIBER live moods either: adding,
editing back to life, moving to another inbox and "Mark active" all stop at the cap."""

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Subscription
from subscriptions.tests import factories
from subscriptions.tests.admin.test_subscriptions import INLINE_MANAGEMENT, action, messages_of

Status = Subscription.Status

pytestmark = pytest.mark.django_db

FULL = "ann@example.org has 2 moods, the most we send to one address: stop one first."


@pytest.fixture
def full(settings):
    """ann@ at the cap of 2, with a stopped mood; bob@ with one live mood."""
    settings.MAX_MOODS_PER_SUBSCRIBER = 2
    factories.subscription("ann@example.org", "happy")
    factories.subscription("ann@example.org", "sad", status=Status.PENDING)
    stopped = factories.subscription(
        "ann@example.org", "jazz", status=Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    bobs = factories.subscription("bob@example.org", "rock")
    return stopped, bobs


def live_of(email):
    return Subscription.objects.filter(
        subscriber__inbox_key=email, status__in=Subscription.LIVE_STATUSES
    ).count()


def save(client, url, **form):
    return client.post(url, {**form, **INLINE_MANAGEMENT})


def test_adding_one_more_is_refused_with_a_message(admin_client, full):
    add = reverse("admin:subscriptions_subscription_add")

    response = save(admin_client, add, email="ann@example.org", term="calm", status="active")

    assert response.status_code == 200
    assert FULL in response.content.decode()
    assert live_of("ann@example.org") == 2
    # A stopped row may still be added: it is no mood the daily email carries.
    added = save(admin_client, add, email="ann@example.org", term="calm", status="unsubscribed")
    assert added.status_code == 302


def test_editing_a_stopped_mood_back_to_life_or_into_a_full_inbox_is_refused(admin_client, full):
    stopped, bobs = full
    revive = reverse("admin:subscriptions_subscription_change", args=[stopped.pk])
    move = reverse("admin:subscriptions_subscription_change", args=[bobs.pk])

    revived = save(admin_client, revive, email="ann@example.org", term="jazz", status="active")
    moved = save(admin_client, move, email="ann+bob@example.org", term="rock", status="active")

    for response in (revived, moved):
        assert response.status_code == 200
        assert FULL in response.content.decode()
    assert live_of("ann@example.org") == 2
    assert Subscription.objects.get(pk=bobs.pk).subscriber.inbox_key == "bob@example.org"
    # A mood already live keeps saving.
    sad = Subscription.objects.get(term="sad")
    change = reverse("admin:subscriptions_subscription_change", args=[sad.pk])
    assert (
        save(admin_client, change, email="ann@example.org", term="sad", status="active").status_code
        == 302
    )


def test_mark_active_leaves_a_full_inbox_alone_and_says_so(admin_client, full):
    stopped, _ = full

    response = action(admin_client, "mark_active", [stopped])

    assert (
        "Left 1 subscription(s) alone: the address has as many live moods as we send "
        "(MAX_MOODS_PER_SUBSCRIBER is 2)."
    ) in messages_of(response)
    assert Subscription.objects.get(pk=stopped.pk).status == Status.UNSUBSCRIBED
    assert live_of("ann@example.org") == 2
