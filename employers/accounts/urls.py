from django.urls import path

from employers.accounts import views as auth_views

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("login/ca/", auth_views.CertificateLoginView.as_view(), name="login_ca"),
    path("login/pending/", auth_views.UnitPendingView.as_view(), name="unit_pending"),
    path("login/sms/", auth_views.SmsLoginStartView.as_view(), name="login_sms"),
    path("login/sms/confirm/", auth_views.SmsLoginConfirmView.as_view(), name="login_sms_confirm"),
    path("login/unlock/", auth_views.UnlockStartView.as_view(), name="unlock"),
    path("login/unlock/confirm/", auth_views.UnlockConfirmView.as_view(), name="unlock_confirm"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/forgot/", auth_views.PasswordForgotView.as_view(), name="password_forgot"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
]
