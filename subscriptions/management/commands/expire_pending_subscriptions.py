"""`manage.py expire_pending_subscriptions`: remove sign-ups nobody confirmed in time.

A pending subscription whose last confirmation email is older than PENDING_CONFIRMATION_DAYS
can no longer be confirmed (its link says so and offers to start again), so it is removed,
with the subscribe-form email records as old. Safe to run as often as you like. Exit status 0,
or 1 when the database could not be reached.
"""

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from subscriptions.expiry import pending_subscriptions_expire

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Remove pending subscriptions whose confirmation link has expired "
        "(PENDING_CONFIRMATION_DAYS), and subscribe-form email records as old."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be removed; remove nothing."
        )

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        try:
            result = pending_subscriptions_expire(dry_run=dry_run)
        except DatabaseError as error:
            logger.exception("Expiring pending subscriptions failed.")
            raise CommandError(f"Expiring pending subscriptions failed: {error}") from error
        verb = "would remove" if dry_run else "removed"
        summary = (
            f"{verb} {result.subscriptions} expired pending subscription(s), "
            f"{result.subscribe_emails} old subscribe-email record(s) and "
            f"{result.subscribers} subscriber(s) left with no subscription"
        )
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(summary))
