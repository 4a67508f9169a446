"""Pytest plugin loaded before Django: the environment every test run starts from.

Tests run with DEBUG off, like production, but without the HTTPS redirect (the test client
speaks plain HTTP) and with a throwaway secret key. Real environment values win.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-key-for-tests-only")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SITE_URL", "https://funky.example.com")
