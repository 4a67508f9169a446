"""Listening, counted without pixels or third parties, and a kind goodbye to the silent.

- `links`: each pick's signed /go/ link, and the "from an email" marker of our pages' links;
- `rules`: what tells a link scanner from a person, each rule with what it is based on;
- `services`, `selectors`: recording a click or visit with its verdict, and reading them;
- `visits`, `receivers`: the visits and Mailgun's `delivered` event that feed them (the /go/
  and goodbye pages are the subscriber's own: subscriptions.manage.listening);
- `sunset`: who is asked whether they still want the email, and the pause of the silent (the
  goodbye email itself is the sender's: subscriptions.daily.goodbye);
- `figures`: what the admin dashboard shows of it.
"""
