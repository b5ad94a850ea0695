"""Authenticated evidence downloads (issue 5)."""

from django.http import Http404, HttpRequest, HttpResponse


def download(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404
