"""Accounts: login, logout, password change and reset by e-mail, and the invited buyer's link."""

from django.contrib.auth import views as auth_views
from django.urls import path

from launchroom.tenants import two_factor
from launchroom.tenants.accounts import InviteSetPasswordView, LoginForm, PasswordResetForm
from launchroom.tenants.throttling import ThrottledPasswordResetView

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", ThrottledPasswordResetView.as_view(form_class=PasswordResetForm), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invite/<uidb64>/<token>/", InviteSetPasswordView.as_view(), name="invite_accept"),
    path("two-factor/", two_factor.verify, name="two_factor"),
    path("two-factor/setup/", two_factor.setup, name="two_factor_setup"),
]
