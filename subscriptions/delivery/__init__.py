"""Mailgun's side: the signed webhook, anymail's tracking receivers, what delivery events change
about an inbox (`events`), the states a day's claims end in (`records`) and the mail checks."""
