"""Management commands of the subscriptions app."""
