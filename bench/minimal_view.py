"""The benchmark's ceiling: a Django view that returns a fixed string through the full stack.

musicsite/urls.py includes these URLs only when BENCH_MINIMAL_VIEW=1 (set by bench/web.py), so
production never serves them.
"""

from django.http import HttpResponse
from django.urls import path


def minimal(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/minimal/", minimal, name="bench-minimal")]
