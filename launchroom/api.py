"""PATCH/GET /api/platform/launch-acceptance (issue 4)."""

from django.http import HttpRequest, JsonResponse


def launch_acceptance(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "not built yet"}, status=501)
