"""Django admin for inboxes erased while suppressed: a digest each, found by typing the address."""

from django.contrib import admin

from ..addresses import InvalidAddress, canonical_email, plain_address
from ..models import SuppressedInbox, inbox_digest


@admin.register(SuppressedInbox)
class SuppressedInboxAdmin(admin.ModelAdmin):
    """Nothing here names anyone: staff find a row by typing the address a person gives them.
    Deleting the row lifts the block (the person asked to be mailed again, say)."""

    list_display = ["short_digest", "reason", "created_at"]
    list_filter = ["reason"]
    date_hierarchy = "created_at"
    search_fields = ["digest"]
    search_help_text = "Type the email address, in any spelling."
    readonly_fields = ["digest", "reason", "created_at"]

    @admin.display(description="inbox digest", ordering="digest")
    def short_digest(self, obj):
        return f"{obj.digest[:16]}…"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        if "@" not in search_term:
            return super().get_search_results(request, queryset, search_term)
        try:
            key = canonical_email(plain_address(search_term))
        except InvalidAddress:
            return queryset.none(), False
        return queryset.filter(digest=inbox_digest(key)), False
