"""The admin's read-only history: playlists sent, delivery events, daily claims."""

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html
from django.utils.text import Truncator

from search import spotify

from ..models import (
    DailyEmail,
    EmailEvent,
    SentPlaylist,
)
from .staff import InboxSearchMixin

ERROR_PREVIEW = 120  # characters of a daily email's error in the list (the page shows it all)


class ReadOnlyAdminMixin:
    """History written by the system: staff read it, nobody edits it by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def spotify_link(sent_playlist):
    # Stored links came from Spotify's JSON (and older rows from before it was checked).
    url = spotify.checked_web_url(
        sent_playlist.web_url, kind="playlist", spotify_id=sent_playlist.playlist_id
    )
    if url is None:
        return "—"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">Open on Spotify</a>', url
    )


@admin.register(SentPlaylist)
class SentPlaylistAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sent_on", "name", "subscriber", "term", "spotify_link", "message_id"]
    list_filter = ["sent_on"]
    list_select_related = ["subscription__subscriber"]
    search_fields = ["subscription__subscriber__email", "name", "playlist_id"]
    date_hierarchy = "sent_on"

    @admin.display(description="email address", ordering="subscription__subscriber__email")
    def subscriber(self, obj):
        return obj.subscription.subscriber.email

    @admin.display(description="search term", ordering="subscription__term")
    def term(self, obj):
        return obj.subscription.term

    @admin.display(description="Spotify")
    def spotify_link(self, obj):
        return spotify_link(obj)


@admin.register(EmailEvent)
class EmailEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "recipient", "event_type", "reason", "staff_name", "received_at"]
    list_filter = ["event_type", "occurred_at"]
    search_fields = ["recipient", "subscriber__email", "event_id", "message_id"]
    date_hierarchy = "occurred_at"


class UnknownFilter(admin.SimpleListFilter):
    """Daily emails whose fate nobody knows yet: Mailgun may or may not have them."""

    title = "fate"
    parameter_name = "fate"

    def lookups(self, request, model_admin):
        return [("unknown", "Still unknown (no answer from Mailgun yet)"), ("known", "Known")]

    def queryset(self, request, queryset):
        unknown = Q(status=DailyEmail.Status.UNKNOWN)
        if self.value() == "unknown":
            return queryset.filter(unknown)
        if self.value() == "known":
            return queryset.exclude(unknown)
        return queryset


@admin.register(DailyEmail)
class DailyEmailAdmin(InboxSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "subscriber", "status", "attempts", "reason", "message_id", "updated_at"]
    list_filter = [UnknownFilter, "status", "day"]
    list_select_related = ["subscriber"]
    search_fields = ["subscriber__email", "message_id"]
    date_hierarchy = "day"

    @admin.display(description="error")
    def reason(self, obj):
        return Truncator(obj.error).chars(ERROR_PREVIEW)

    def changelist_view(self, request, extra_context=None):
        # A banner on every visit of the list while any claim is unknown: those emails may or
        # may not be in the inbox until Mailgun's delivery events settle them.
        unknown = DailyEmail.objects.filter(status=DailyEmail.Status.UNKNOWN).count()
        if unknown:
            self.message_user(
                request,
                format_html(
                    "{} daily email(s) are still unknown: the run never heard Mailgun's answer, "
                    "so they are not resent; Mailgun's delivered/failed events settle them. "
                    '<a href="?fate=unknown">Show them</a>',
                    unknown,
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)
