"""Types the apps' signatures share: who acts, and the request a signed-in user makes.

The project keeps Django's default user model (``AUTH_USER_MODEL`` is ``auth.User``), so an
acting user is a ``User``; a request's user may also be the anonymous user until a view
has checked that someone signed in.
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as _User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

User: TypeAlias = _User
"""The user model: the acting user of a service (staff or a buyer's account)."""

RequestUser: TypeAlias = _User | AnonymousUser
"""``request.user`` before anyone checked that it is signed in."""


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind ``login_required`` (or the admin) receives: its user is
    signed in. Only a type: Django builds plain ``HttpRequest`` objects."""

    user: _User


def signed_in_user(request: HttpRequest) -> _User:
    """``request.user`` where a sign-in check already ran (the admin site, ``login_required``,
    the API's 401), typed as the user model. Should that check ever be missing, the request
    is refused rather than acted on as nobody."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
