"""GET /api/platform/tenants/<slug>/readiness (issue 3)."""

from django.http import HttpRequest, JsonResponse


def readiness(request: HttpRequest, slug: str) -> JsonResponse:
    return JsonResponse({"error": "not built yet"}, status=501)
