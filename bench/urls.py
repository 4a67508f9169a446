"""The site's URLs with the benchmark's bare view in front (bench/settings.py only)."""

from django.urls import include, path

from bench.minimal_view import minimal

urlpatterns = [
    path("bench/minimal/", minimal, name="bench-minimal"),
    path("", include("musicsite.urls")),
]
