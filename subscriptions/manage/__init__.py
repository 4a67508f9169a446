"""The subscriber's own pages behind their manage token: moods, pause, schedule, history, web
copies, export and erase (`views` thin, `services` writes, `selectors` reads)."""
