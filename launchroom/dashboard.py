"""The staff portfolio dashboard (issue 3)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def portfolio(request: HttpRequest) -> HttpResponse:
    return render(request, "launchroom/dashboard.html")


def portfolio_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("", content_type="text/csv")
