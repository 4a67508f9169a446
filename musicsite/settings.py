"""Settings for funky-music, read from the environment only (see README and .env.example)."""

import datetime
import math
import os
import ssl
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=""):
    return os.environ.get(name, default).strip()


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _bounded(name, number, text, *, minimum, maximum, unit="", why=""):
    """`number` if within [minimum, maximum] (finite), else the one message naming `name`."""
    if not (math.isfinite(number) and minimum <= number <= maximum):
        because = f" ({why})" if why else ""
        raise ImproperlyConfigured(
            f"{name} must be between {minimum:g} and {maximum:g}{unit}{because}, not {text!r}."
        )
    return number


def env_int(name, default, *, minimum, maximum, why=""):
    """A whole number from the environment within [minimum, maximum]; `default` when unset.

    Every number has bounds: an out-of-range one (a week of 1000000 days, -1 attempts) stops
    startup with a message naming it, instead of an OverflowError in the middle of a run."""
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    return _bounded(name, number, value, minimum=minimum, maximum=maximum, why=why)


def seconds(name, value, *, minimum=0.0, maximum):
    """`value` as a finite number of seconds (decimals allowed) within [minimum, maximum]."""
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {value!r}.") from None
    return _bounded(name, number, value, minimum=minimum, maximum=maximum, unit=" seconds")


def env_seconds(name, default, *, minimum=0.0, maximum):
    value = env_str(name)
    return seconds(name, value, minimum=minimum, maximum=maximum) if value else default


def env_float(name, default, *, minimum, maximum):
    value = env_str(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None
    return _bounded(name, number, value, minimum=minimum, maximum=maximum)


def env_time_zone(name, default):
    """An IANA zone name that this machine's tz database knows and loads (Django would only
    fail later, and with a ValueError); `localtime` and `Factory` are not places."""
    value = env_str(name, default)
    known = zoneinfo.available_timezones() - {"localtime", "Factory"}
    try:
        if value not in known:
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone name such as UTC or Europe/Paris, not {value!r}."
        ) from None
    return value


def env_list(name, default=()):
    value = env_str(name)
    if not value:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment "
            "(for example `heroku config:set SECRET_KEY=...`), or set DEBUG=1 for development."
        )
    # Development only: a fresh key each start, so sessions do not survive a restart.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
if SITE_URL:
    _site = urlsplit(SITE_URL)
    if _site.scheme not in {"http", "https"} or not _site.netloc:
        raise ImproperlyConfigured(f"SITE_URL must be an absolute http(s) URL, not {SITE_URL!r}.")
    CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

INSTALLED_APPS = [
    # django.contrib.admin, with the project's admin site (musicsite/staff_signin.py).
    "musicsite.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "anymail",
    "csp",
    # Staff sign-in: one-time passwords (TOTP apps, static backup codes) and throttling.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "search",
    "subscriptions",
]

MIDDLEWARE = [
    "musicsite.middleware.PrivateWhenSettingCookiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses what the site renders; below WhiteNoise, so static files keep WhiteNoise's own
    # precompressed copies and never pass through it. Above the middleware that only set headers
    # and cookies. BREACH: the one secret in a page body is the CSRF token, which Django masks
    # afresh for every response, and the middleware pads each gzip stream by a random length.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(), for the admin site
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "musicsite.urls"
WSGI_APPLICATION = "musicsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: any dj-database-url URL; SQLite next to manage.py by default.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True),
    }
except ValueError as error:  # its own message names the scheme, never the password
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    # Heroku Postgres needs TLS. A local server (tests, CI) has none; an explicit ?sslmode= wins.
    if DATABASES["default"].get("HOST") not in {"", "localhost", "127.0.0.1", "::1"}:
        _db_options.setdefault("sslmode", "require")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set (Heroku Key-Value Store gives rediss:// with a self-signed
# certificate), else per-process memory.
REDIS_URL = env_str("REDIS_URL")
# The subscribe form's abuse counters (subscriptions/ratelimit.py) live in a cache of their
# own, so pages cached by the thousand cannot evict them: their own Redis when
# RATELIMIT_REDIS_URL is set, else the same Redis under their own key prefix, else their own
# per-process memory.
RATELIMIT_REDIS_URL = env_str("RATELIMIT_REDIS_URL", REDIS_URL)


def redis_cache(url, *, key_prefix, options=None):
    redis_options = dict(options or {})
    if url.startswith("rediss://"):
        redis_options["ssl_cert_reqs"] = None
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        "OPTIONS": redis_options,
    }


def local_memory_cache(name, *, max_entries):
    return {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": name,
        "OPTIONS": {"MAX_ENTRIES": max_entries},
    }


CACHES = {
    "default": (
        redis_cache(REDIS_URL, key_prefix="funky")
        if REDIS_URL
        else local_memory_cache("funky-music", max_entries=5000)
    ),
    "ratelimit": (
        # A counter that cannot be reached within half a second counts locally instead.
        redis_cache(
            RATELIMIT_REDIS_URL,
            key_prefix="funky-ratelimit",
            options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        )
        if RATELIMIT_REDIS_URL
        else local_memory_cache("funky-music-ratelimit", max_entries=20000)
    ),
    # Where the counters go while the "ratelimit" cache fails: this process's memory.
    "ratelimit-fallback": local_memory_cache("funky-music-ratelimit-fallback", max_entries=20000),
}

# The sign-in throttle looks at every attempt before the password is checked.
AUTHENTICATION_BACKENDS = [
    "musicsite.staff_signin.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Security. Heroku's router terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Uptime checkers often probe plain HTTP; a redirect there would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # At most two years (what browsers keep); the preload list asks for one year or more.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0, maximum=2 * 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Content-Security-Policy (django-csp): scripts and styles only from our static files (no inline
# ones anywhere, the admin's included), Spotify's player as the one frame, covers from Spotify's
# image hosts (search/sanitize.py keeps only those), and nobody may frame our pages.
# `check --deploy` reports an error when it is switched off (search/checks.py).
SPOTIFY_IMAGE_SOURCES = ["https://i.scdn.co", "https://mosaic.scdn.co", "https://*.spotifycdn.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, *SPOTIFY_IMAGE_SOURCES],
        "frame-src": ["https://open.spotify.com"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Upload limits: nothing on this site takes more than a short form, except the admin's action
# form: one `_selected_action` per ticked row of a changelist page (list_per_page is 100) plus the
# CSRF token, the action, `index` and `select_across`. 1000 leaves room for that with margin and
# still refuses a body of thousands of fields (musicsite/tests/test_admin_full_page.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Spotify (search/spotify/).
SPOTIFY_CLIENT_ID = env_str("SPOTIFY_CLIENT_ID")
SPOTIFY_CLIENT_SECRET = env_str("SPOTIFY_CLIENT_SECRET")
SPOTIFY_TOKEN = env_str("SPOTIFY_TOKEN")
SPOTIFY_API_URL = env_str("SPOTIFY_API_URL", "https://api.spotify.com/v1").rstrip("/")
SPOTIFY_TOKEN_URL = env_str("SPOTIFY_TOKEN_URL", "https://accounts.spotify.com/api/token")
SPOTIFY_MARKET = env_str("SPOTIFY_MARKET")
# How long to wait for Spotify; the defaults are search/spotify/results.py's DEFAULT_*.
# SPOTIFY_TIMEOUT: "connect,read" seconds for one HTTP request, or one number for both.
_timeout = env_list("SPOTIFY_TIMEOUT", ["3.05", "5.0"])
if len(_timeout) not in (1, 2):
    raise ImproperlyConfigured(
        "SPOTIFY_TIMEOUT must be one number of seconds or two (connect,read)."
    )
SPOTIFY_TIMEOUT = tuple(
    seconds("SPOTIFY_TIMEOUT", part, minimum=0.1, maximum=60) for part in (_timeout * 2)[:2]
)
# Seconds one public call may take in all, retries included (a page may make two calls).
SPOTIFY_DEADLINE = env_seconds("SPOTIFY_DEADLINE", 8.0, minimum=0.1, maximum=120)
SPOTIFY_ATTEMPTS = env_int("SPOTIFY_ATTEMPTS", 3, minimum=1, maximum=10)
# The first retry's pause; then doubled.
SPOTIFY_BACKOFF = env_seconds("SPOTIFY_BACKOFF", 0.25, maximum=30)
# The longest 429 Retry-After worth waiting for inside a web request.
SPOTIFY_MAX_RETRY_AFTER = env_seconds("SPOTIFY_MAX_RETRY_AFTER", 3.0, maximum=60)
# The offline demo catalog stands in for Spotify only in development without credentials.
SPOTIFY_DEMO_CATALOG = DEBUG and not (
    (SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET) or SPOTIFY_TOKEN
)

# Mail: anymail's Mailgun backend when MAILGUN_API_KEY is set, the console otherwise.
MAILGUN_API_KEY = env_str("MAILGUN_API_KEY")
MAILGUN_DOMAIN = env_str("MAILGUN_DOMAIN")
if MAILGUN_API_KEY:
    EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
ANYMAIL = {
    "MAILGUN_API_URL": env_str("MAILGUN_API_URL", "https://api.mailgun.net/v3"),
    "REQUESTS_TIMEOUT": (5, 30),
}
# Only keys that are set: anymail would verify webhooks against an empty signing key.
if MAILGUN_API_KEY:
    ANYMAIL["MAILGUN_API_KEY"] = MAILGUN_API_KEY
if env_str("MAILGUN_WEBHOOK_SIGNING_KEY"):
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = env_str("MAILGUN_WEBHOOK_SIGNING_KEY")
# How far from now a webhook signature's timestamp may be (subscriptions/webhooks.py); each
# signature is accepted once, so this also bounds how long used ones are remembered.
MAILGUN_WEBHOOK_MAX_AGE_SECONDS = env_int(
    "MAILGUN_WEBHOOK_MAX_AGE_SECONDS", 300, minimum=1, maximum=24 * 3600
)
if MAILGUN_DOMAIN:
    ANYMAIL["MAILGUN_SENDER_DOMAIN"] = MAILGUN_DOMAIN
if env_str("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = env_str("ANYMAIL_WEBHOOK_SECRET")
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", f"funky-music <playlists@{MAILGUN_DOMAIN or 'localhost'}>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The daily sender (subscriptions/management/commands/send_daily_playlists.py).
# Spotify caps a playlist at 10,000 tracks.
MIN_PLAYLIST_TRACKS = env_int("MIN_PLAYLIST_TRACKS", 10, minimum=0, maximum=10_000)
# Mailgun's cap on the recipients of one API call: the sender's batch-size rule reads it.
MAILGUN_MAX_RECIPIENTS = 1000
MAILGUN_BATCH_SIZE = env_int(
    "MAILGUN_BATCH_SIZE",
    MAILGUN_MAX_RECIPIENTS,
    minimum=1,
    maximum=MAILGUN_MAX_RECIPIENTS,
    why="Mailgun's cap per call",  # the words of subscriptions/daily/batch_size.py
)
# Sends of one address's daily email a day that Mailgun may refuse before it is left failed.
DAILY_MAX_ATTEMPTS = env_int("DAILY_MAX_ATTEMPTS", 3, minimum=1, maximum=100)
# The complaint breaker: when complaints over the last DAILY_COMPLAINT_WINDOW_DAYS reach this
# share of the emails sent in them (0.003 = 0.3 %, where Gmail, Yahoo and Microsoft start
# throttling bulk senders), the daily run sends nothing and exits with status 3.
# A rate of 0 would stop every run: the lowest is one complaint in 100,000 emails.
DAILY_COMPLAINT_BREAKER_RATE = env_float(
    "DAILY_COMPLAINT_BREAKER_RATE", 0.003, minimum=0.00001, maximum=1
)
# Day counts stop at ten years: far past any use, far from the calendar's end.
DAILY_COMPLAINT_WINDOW_DAYS = env_int("DAILY_COMPLAINT_WINDOW_DAYS", 7, minimum=1, maximum=3650)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
    },
    # Subscribers' link tokens are credentials: every handler redacts them from paths
    # (musicsite/log_filters.py); a handler added here needs the filter too.
    "filters": {
        "redact_tokens": {"()": "musicsite.log_filters.RedactTokenPaths"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Keep Django's request noise at WARNING; our own modules log at LOG_LEVEL.
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # django-axes: failures and lockouts (WARNING), not its start-up and bookkeeping lines.
        "axes": {"level": "WARNING"},
    },
}

# --- Subscriptions (subscriptions/ratelimit.py) ---------------------------------------------
# Abuse limits for the subscribe form. Posts per client IP are counted in the "ratelimit" cache
# (use Redis when there is more than one process, or each process counts on its own).
SUBSCRIBE_POSTS_PER_IP_PER_HOUR = env_int(
    "SUBSCRIBE_POSTS_PER_IP_PER_HOUR", 10, minimum=1, maximum=100_000
)
# Emails the form sends one inbox (however the address is spelled) in any 24 hours: counted in
# the database, so the limit holds whatever happens to the cache.
SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = env_int(
    "SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY", 3, minimum=1, maximum=100
)
# A confirmation link works this many days after its email; then the pending subscription
# expires (python manage.py expire_pending_subscriptions removes it).
PENDING_CONFIRMATION_DAYS = env_int("PENDING_CONFIRMATION_DAYS", 7, minimum=1, maximum=3650)
# Live (pending or active) moods one inbox may have: each is a Spotify search a day and a pick in
# its email. Adding or restarting one on the manage page counts too: at most this many a day.
MAX_MOODS_PER_SUBSCRIBER = env_int("MAX_MOODS_PER_SUBSCRIBER", 20, minimum=1, maximum=100)
# "Lost your link?" mails one inbox its manage link at most once in this many minutes, whoever
# asks (counted in the "ratelimit" cache); no daily cap, so nobody can lock the owner out.
LOST_LINK_RESEND_MINUTES = env_int("LOST_LINK_RESEND_MINUTES", 10, minimum=1, maximum=24 * 60)
# Listening (subscriptions/listening): links in emails go through our own /go/ redirect, which
# records the click (no pixels, no third party). Off: plain links, nothing recorded, no sunset.
CLICK_RECORDING = env_bool("CLICK_RECORDING", True)
# A subscriber with no listening in this many days, mailed on 30 or more of them, is asked
# once whether they still want the email, and paused 14 days later without an answer. 0: never.
SUNSET_AFTER_DAYS = env_int("SUNSET_AFTER_DAYS", 90, minimum=0, maximum=3650)
if 0 < SUNSET_AFTER_DAYS < 30:
    raise ImproperlyConfigured(
        "SUNSET_AFTER_DAYS must be 0 (never) or at least 30: a goodbye needs 30 days of mail."
    )
# Heroku's router appends the connecting address to X-Forwarded-For, so its last hop is the one
# client address nobody can forge there; anywhere else the header is whatever the client sent.
# On by default on a Heroku dyno (DYNO is set), off elsewhere (REMOTE_ADDR is used).
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", bool(env_str("DYNO")))

# --- Staff sign-in (musicsite/staff_signin.py) ----------------------------------------------
# django-axes counts failed admin sign-ins in the database (its default handler: no cache
# outage can reset the count) per account and per client address, each on its own: after
# ADMIN_LOGIN_FAILURE_LIMIT failures for an account, or from an address, signing in is refused
# (HTTP 429, the admin-styled page) until ADMIN_LOGIN_COOLOFF_MINUTES after the last attempt.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=7 * 24 * 60)
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The client address by the same rule as the subscribe form's limits: REMOTE_ADDR, or Heroku's
# router's last X-Forwarded-For hop when TRUST_X_FORWARDED_FOR is on.
AXES_CLIENT_IP_CALLABLE = "musicsite.staff_signin.client_ip"
AXES_LOCKOUT_CALLABLE = "musicsite.staff_signin.lockout_response"
# A success clears the account's earlier failures, so old typos do not add up to a lockout.
AXES_RESET_ON_SUCCESS = True
# Masked in the attempt's stored form data and in axes' log lines (the password always is); the
# admin's "Access attempts" list still shows each attempt's account and address.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
# Two-factor for staff (django-otp): with ADMIN_REQUIRE_2FA on, the admin asks for a one-time
# token from a device of the user's at sign-in, and staff without one cannot get in. Enrol
# first (README: "Two-factor sign-in for staff").
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = "funky-music"

# --- Background workers (musicsite/celery.py, subscriptions/daily/tasks.py) -----------------
# The daily run fans out to Celery workers when there is a broker: CELERY_BROKER_URL (RabbitMQ's
# amqp:// or a Redis), else the Redis of REDIS_URL. Without one (or CELERY_BROKER_URL=none) the
# run works in-process, as `make run` on SQLite does.
_broker = env_str("CELERY_BROKER_URL") or REDIS_URL
CELERY_BROKER_URL = "" if _broker.lower() in {"none", "off", "in-process"} else _broker
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "funky-daily")
# A task is acknowledged when it has finished, and given back when its worker dies: the claims
# (not the broker's delivery count) decide who is mailed, so a second delivery is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 2, minimum=1, maximum=64)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # the run's record is in the database; no result backend
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_TIMEOUT = env_seconds(
    "CELERY_BROKER_CONNECTION_TIMEOUT", 4.0, minimum=0.1, maximum=60
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis has no acknowledgements of its own: a task a dead worker held goes back to the queue
# once it has been unacknowledged this long (Celery's default is an hour), checked every
# tenth of it. Keep it above the longest task (a batch of 1,000 takes seconds).
CELERY_VISIBILITY_TIMEOUT = env_int(
    "CELERY_VISIBILITY_TIMEOUT", 300, minimum=1, maximum=3600, why="seconds; Celery's own is 3600"
)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, CELERY_VISIBILITY_TIMEOUT // 10),
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("rediss://"):
    # Heroku's Key-Value Store: TLS with a self-signed certificate (not verified, per Heroku).
    CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_NONE}

# --- Errors to Sentry ---------------------------------------------------------------------------
# Web requests, the command and the workers report unhandled errors when SENTRY_DSN is set.
SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0, maximum=1)
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        send_default_pii=False,  # subscribers' addresses stay out of error reports
    )
