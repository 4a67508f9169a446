"""The benchmark's ceiling: a Django view that returns a fixed string through the full stack.

Served only by bench/urls.py (bench/settings.py), so production never has it.
"""

from django.http import HttpRequest, HttpResponse


def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
