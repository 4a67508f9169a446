"""Django admin for subscribers, what they were sent, and what Mailgun reported about them."""

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from .. import moods, selectors, services
from ..models import (
    EmailEvent,
    SentPlaylist,
    Subscriber,
    Subscription,
)
from .history import ReadOnlyAdminMixin, spotify_link
from .staff import InboxSearchMixin, StaffRequest, suppression_clear
from .subscription_form import SubscriptionAdminForm

RECENT_SENT_PLAYLISTS = 10
RECENT_EVENTS = 5


class SuppressedFilter(admin.SimpleListFilter):
    """Addresses we must not mail: they bounced or marked our mail as spam."""

    title = "suppressed"
    parameter_name = "suppressed"

    def lookups(self, request, model_admin):
        return [("yes", "Suppressed (bounced or complained)"), ("no", "Not suppressed")]

    def queryset(self, request, queryset):
        suppressed = Q(subscriber__state__in=Subscriber.SUPPRESSED_STATES)
        if self.value() == "yes":
            return queryset.filter(suppressed)
        if self.value() == "no":
            return queryset.exclude(suppressed)
        return queryset


class RecentSentPlaylistFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # Only the latest few: a years-old subscription has thousands.
        return super().get_queryset()[:RECENT_SENT_PLAYLISTS]


class RecentSentPlaylistInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SentPlaylist
    formset = RecentSentPlaylistFormSet
    verbose_name_plural = f"most recent sent playlists (up to {RECENT_SENT_PLAYLISTS})"
    fields = ["sent_on", "name", "spotify_link", "message_id"]
    readonly_fields = tuple(str(name) for name in fields)
    ordering = ["-sent_on", "-id"]
    extra = 0
    show_change_link = True

    @admin.display(description="Spotify")
    def spotify_link(self, obj):
        return spotify_link(obj)


@admin.register(Subscription)
class SubscriptionAdmin(InboxSearchMixin, admin.ModelAdmin):
    form = SubscriptionAdminForm
    list_display = [
        "address",
        "term",
        "status",
        "created_at",
        "confirmed_at",
        "last_sent_at",
        "playlists_sent",
        "last_event",
    ]
    list_filter = [
        "status",
        SuppressedFilter,
        "created_at",
        "confirmed_at",
        "last_sent_at",
        "unsubscribed_at",
    ]
    list_select_related = ["subscriber"]
    search_fields = ["subscriber__email", "term"]
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = [
        "email",
        "term",
        "status",
        "token",
        "created_at",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "last_sent_at",
        "last_sent_on",
        "all_sent_playlists",
        "delivery_events",
    ]
    # Staff may correct the address, the term and the status; the system sets everything else.
    readonly_fields = [str(name) for name in fields if name not in {"email", "term", "status"}]
    inlines = [RecentSentPlaylistInline]
    actions = ["unsubscribe", "resend_confirmation", "mark_active", "clear_suppression"]

    def get_queryset(self, request):
        return selectors.with_delivery_summary(super().get_queryset(request))

    @admin.display(description="email address", ordering="subscriber__email")
    def address(self, obj):
        return obj.subscriber.email

    @admin.display(description="playlists sent", ordering="sent_count")
    def playlists_sent(self, obj):
        return obj.sent_count

    @admin.display(description="last delivery event", ordering="last_event_at")
    def last_event(self, obj):
        if not obj.last_event_type:
            return "—"
        label = EmailEvent.Type(obj.last_event_type).label
        return f"{label}: {obj.last_event_reason}" if obj.last_event_reason else label

    @admin.display(description="sent playlists")
    def all_sent_playlists(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:subscriptions_sentplaylist_changelist")
        query = urlencode({"subscription__id__exact": obj.pk})
        return format_html('<a href="{}?{}">All {} sent playlists</a>', url, query, obj.sent_count)

    @admin.display(description="delivery events for this address")
    def delivery_events(self, obj):
        if obj.pk is None:
            return "—"
        events = obj.subscriber.email_events.all()[:RECENT_EVENTS]
        if not events:
            return "None"
        url = reverse("admin:subscriptions_emailevent_changelist")
        query = urlencode({"q": obj.subscriber.email.lower()})
        rows = format_html_join(
            "",
            "<li>{} — {} {}</li>",
            (
                (
                    f"{event.occurred_at:%Y-%m-%d %H:%M}",
                    event.get_event_type_display(),
                    f"({event.reason})" if event.reason else "",
                )
                for event in events
            ),
        )
        return format_html('<ul>{}</ul><a href="{}?{}">All events</a>', rows, url, query)

    @admin.action(description="Unsubscribe")
    def unsubscribe(self, request, queryset):
        changed = services.subscriptions_unsubscribe(
            subscriptions=queryset, via=Subscription.Via.STAFF
        )
        self.message_user(request, f"Unsubscribed {changed} subscription(s).", messages.SUCCESS)

    @admin.action(description="Re-send confirmation")
    def resend_confirmation(self, request, queryset):
        sent = skipped = failed = 0
        for subscription in queryset:
            try:
                if services.confirmation_resend(subscription=subscription):
                    sent += 1
                else:
                    skipped += 1
            except services.ConfirmationNotSent:
                failed += 1
        self.message_user(request, f"Sent {sent} confirmation email(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} subscription(s) that are not pending confirmation.",
                messages.WARNING,
            )
        if failed:
            self.message_user(
                request,
                f"{failed} confirmation email(s) could not be sent; try again later.",
                messages.ERROR,
            )

    @admin.action(description="Mark active")
    def mark_active(self, request, queryset):
        result = services.subscriptions_mark_active(subscriptions=queryset)
        self.message_user(
            request, f"Marked {result.activated} subscription(s) active.", messages.SUCCESS
        )
        if result.conflicts:
            self.message_user(
                request,
                f"Left {result.conflicts} subscription(s) alone: the same address and term "
                "already has a live subscription.",
                messages.WARNING,
            )
        if result.full:
            self.message_user(
                request,
                f"Left {result.full} subscription(s) alone: the address has as many live moods "
                f"as we send (MAX_MOODS_PER_SUBSCRIBER is {moods.mood_cap()}).",
                messages.WARNING,
            )
        if result.suppressed:
            self.message_user(
                request,
                f"Left {result.suppressed} subscription(s) alone: the address bounced or "
                "complained. If that was wrong, use “Clear bounce/complaint” first.",
                messages.WARNING,
            )

    @admin.action(description="Clear bounce/complaint of these addresses", permissions=["change"])
    def clear_suppression(self, request: StaffRequest, queryset: QuerySet[Subscription]) -> None:
        suppression_clear(self, request, Subscriber.objects.filter(subscriptions__in=queryset))
