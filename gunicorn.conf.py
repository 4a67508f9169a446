"""gunicorn's settings for the web dyno (the Procfile passes this file with --config).

Modelled on Heroku's python-getting-started app: threaded workers, so a request waiting on
Spotify no longer holds a whole process. A cold search spends ~100 ms waiting and a few ms of
CPU; with sync workers each process waited in turn and distinct new searches queued behind them.

Command-line flags and GUNICORN_CMD_ARGS still win over this file (the tests bind loopback so).
"""

import os


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}.") from None
    if number < 1:
        raise SystemExit(f"{name} must be at least 1, not {number}.")
    return number


# Heroku sets WEB_CONCURRENCY from the dyno size; 2 where nothing sets it.
workers = _positive_int("WEB_CONCURRENCY", 2)
# gthread: each worker serves up to `threads` requests at once. The Spotify client, its token and
# the caches are shared safely between threads (search/spotify.py); each thread keeps its own
# database connection, so workers x threads must stay under the database's connection limit
# (Heroku Postgres Essential-0 allows 20).
worker_class = "gthread"
threads = _positive_int("GUNICORN_THREADS", 8)

# No `bind`: gunicorn's default is 0.0.0.0:$PORT when Heroku sets PORT, 127.0.0.1:8000 otherwise.

# Heroku's router gives up after 30 s; a worker stuck longer than that is restarted.
timeout = 30
# Idle keep-alive connections are only the router's; keep them briefly.
keepalive = 5
