"""The launch room and the staff portfolio dashboard."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "launchroom/index.html")


@login_required
def room(request: HttpRequest, slug: str) -> HttpResponse:
    return render(request, "launchroom/room.html")
