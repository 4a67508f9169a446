"""Loopback fake of Mailgun's send API (filled in by the daily sender work)."""
