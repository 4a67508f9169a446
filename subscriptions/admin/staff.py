"""What the admins of the mail side share: the staff request's type, finding an inbox by any
spelling of its address, and clearing a bounce or complaint."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from ..addresses import canonical_email
from ..delivery import events
from ..models import Subscriber


class StaffRequest(HttpRequest):
    """A request the admin site has let in: its user is a signed-in staff member."""

    user: User


class InboxSearchMixin:
    """Typing an address finds its inbox under any spelling (case, +tag, quotes), beside the
    admin's own `search_fields`. `inbox_key_lookup` leads from the listed model to the key."""

    inbox_key_lookup = "subscriber__inbox_key"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        if "@" in search_term:
            results |= queryset.filter(**{self.inbox_key_lookup: canonical_email(search_term)})
        return results, duplicates


def suppression_clear(
    model_admin: admin.ModelAdmin[Any], request: StaffRequest, subscribers: QuerySet[Subscriber]
) -> None:
    """Clear the bounce or complaint of `subscribers`, recorded under the staff member's
    name, and say what it did (and what Mailgun still has to be told)."""
    addresses = sorted(set(subscribers.values_list("email", flat=True)))
    cleared = sum(
        events.address_suppression_clear(email=email, staff_user=request.user)
        for email in addresses
    )
    if cleared:
        model_admin.message_user(
            request,
            f"Cleared the bounce/complaint of {cleared} address(es): their active "
            "subscriptions resume with the next daily email. Remove them from "
            "Mailgun's suppression lists too, or Mailgun will not deliver to them.",
            messages.SUCCESS,
        )
    if len(addresses) > cleared:
        model_admin.message_user(
            request,
            f"{len(addresses) - cleared} address(es) had no bounce or complaint to clear.",
            messages.WARNING,
        )
