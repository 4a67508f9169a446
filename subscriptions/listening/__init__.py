"""Listening, counted without pixels or third parties, and a kind goodbye to the silent.

- `links`: each pick's signed /go/ link, and the "from an email" marker of our pages' links;
- `rules`: what tells a link scanner from a person, each rule with what it is based on;
- `services`, `selectors`: recording a click or visit with its verdict, and reading them;
- `visits`, `views`, `receivers`: the requests and Mailgun's `delivered` event that feed them;
- `sunset`: the goodbye to subscribers who stopped listening, and their pause;
- `figures`: what the admin dashboard shows of it.
"""
