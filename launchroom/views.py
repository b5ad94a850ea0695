"""The launch room (issue 4). Staff land on the portfolio dashboard instead."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from launchroom import dashboard


@login_required
def index(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff:
        return dashboard.portfolio(request)
    return render(request, "launchroom/index.html")


@login_required
def room(request: HttpRequest, slug: str) -> HttpResponse:
    return render(request, "launchroom/room.html")
