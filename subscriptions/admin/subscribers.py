"""The Subscriber admin: one row per inbox, its subscriptions inline, its history and events."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.formats import date_format

from .. import selectors, services
from ..listening.selectors import with_last_listened
from ..models import EmailEvent, Subscriber, Subscription
from . import exports, staff_mail
from .listening import ListeningFilter
from .staff import InboxSearchMixin, StaffRequest, suppression_clear


class SubscriptionInline(admin.TabularInline):
    """The person's moods; each row links to its own page for the subscription actions."""

    model = Subscription
    fields = [
        "term",
        "status",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "last_sent_at",
    ]
    readonly_fields = tuple(str(name) for name in fields)
    ordering = ["-created_at", "-id"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(InboxSearchMixin, admin.ModelAdmin):
    inbox_key_lookup = "inbox_key"
    list_display = [
        "email",
        "state",
        "paused_until",
        "created_at",
        "last_sent_at",
        "playlists_sent",
        "last_event",
        "listening",
    ]
    list_filter = ["state", ListeningFilter, "frequency", "created_at", "last_sent_at"]
    search_fields = ["email", "inbox_key"]
    date_hierarchy = "created_at"
    list_per_page = 100
    # The manage token is a credential: staff never need to see it.
    fields = [
        "email",
        "inbox_key",
        "state",
        "state_changed_at",
        "state_reason",
        "paused_until",
        "sunset_at",
        "time_zone",
        "send_hour",
        "frequency",
        "weekly_day",
        "created_at",
        "last_sent_at",
    ]
    # The schedule is the subscriber's (their schedule page); staff may read it, and pause.
    readonly_fields = [str(name) for name in fields if name != "paused_until"]
    inlines = [SubscriptionInline]
    actions = ["unsubscribe_all", "clear_suppression", "export_csv", "send_me_todays_email"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return with_last_listened(selectors.with_subscriber_summary(super().get_queryset(request)))

    def has_add_permission(self, request, obj=None):
        return False  # a subscriber comes from the subscribe form

    @admin.display(description="playlists sent", ordering="history_count")
    def playlists_sent(self, obj: Any) -> int:  # annotated by with_subscriber_summary
        return obj.history_count

    @admin.display(description="last delivery event", ordering="last_event_at")
    def last_event(self, obj: Any) -> str:  # annotated by with_subscriber_summary
        if not obj.last_event_type:
            return "—"
        label = EmailEvent.Type(obj.last_event_type).label
        return f"{label}: {obj.last_event_reason}" if obj.last_event_reason else label

    @admin.display(description="last listened", ordering="last_listened_at")
    def listening(self, obj: Any) -> str:  # annotated by with_last_listened
        if obj.sunset_at:
            return f"Paused for not listening since {date_format(obj.sunset_at, 'j M Y')}"
        if obj.last_listened_at:
            return date_format(timezone.localtime(obj.last_listened_at), "j M Y")
        return "—"

    @admin.action(description="Export as CSV (streamed)", permissions=["view"])
    def export_csv(self, request: StaffRequest, queryset: QuerySet[Subscriber]) -> HttpResponseBase:
        """The selected rows, or every row the filters match with "Select all"."""
        return exports.subscribers_csv_response(
            Subscriber.objects.filter(pk__in=queryset.values("pk"))
        )

    # "change": the copy shows what only the subscriber's own pages show (their moods, what
    # they were sent), so staff who may only look at the list do not get it.
    @admin.action(
        description="Send me this subscriber's email of today (a test)", permissions=["change"]
    )
    def send_me_todays_email(self, request: StaffRequest, queryset: QuerySet[Subscriber]) -> None:
        """One subscriber at a time: the email goes to the staff member, marked as a test, with
        placeholder links, and is recorded neither as the subscriber's email nor in their
        history."""
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Choose exactly one subscriber.", messages.WARNING)
            return
        try:
            address = staff_mail.daily_email_test_send(
                subscriber=chosen[0], staff_user=request.user
            )
        except staff_mail.TestSendRefused as refused:
            self.message_user(request, str(refused), messages.WARNING)
            return
        self.message_user(
            request,
            f"Sent {chosen[0].email}'s email of today to {address}, marked as a test. "
            "Its links are disabled: they open none of the subscriber's pages.",
            messages.SUCCESS,
        )

    @admin.action(description="Unsubscribe from everything")
    def unsubscribe_all(self, request: StaffRequest, queryset: QuerySet[Subscriber]) -> None:
        subscriptions = Subscription.objects.filter(subscriber__in=queryset)
        changed = services.subscriptions_unsubscribe(
            subscriptions=subscriptions, via=Subscription.Via.STAFF
        )
        self.message_user(request, f"Unsubscribed {changed} subscription(s).", messages.SUCCESS)

    @admin.action(description="Clear bounce/complaint", permissions=["change"])
    def clear_suppression(self, request: StaffRequest, queryset: QuerySet[Subscriber]) -> None:
        suppression_clear(self, request, queryset)
