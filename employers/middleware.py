"""Session limits for everyone logged in, and what an agent of a unit under review may open.

DESIGN.md section 11: a session ends after 30 minutes without a request and 12 hours after
login, whichever comes first (RATE_LIMITS session_idle_seconds / session_absolute_seconds).
An agent whose unit is not yet approved (unverified, under review, rejected) sees only the unit's
registration status page and the pages under it (resubmitting a rejected application).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from employers.accounts.services import (
    REVIEW_STATES,
    SESSION_LAST_SEEN,
    SESSION_STARTED,
    login_redirect_url,
)
from employers.permissions import request_agent

# Writing the session on every request would cost a database write each time; a minute of
# slack on a 30-minute idle limit is harmless.
LAST_SEEN_RESOLUTION = 60
IDLE_MESSAGE = _("您已超过30分钟未操作,为保护账户安全已自动退出,请重新登录。")
ABSOLUTE_MESSAGE = _("本次登录已超过12小时,为保护账户安全已自动退出,请重新登录。")
# Always reachable, whatever the state of the agent's unit.
OPEN_PREFIXES = ("/captcha/", "/i18n/", "/healthz")


class AgentSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = self.check_session(request) or self.check_unit_state(request)
            if response is not None:
                return response
        return self.get_response(request)

    def check_session(self, request):
        limits = settings.RATE_LIMITS
        session = request.session
        now = int(time.time())
        started = session.get(SESSION_STARTED)
        last_seen = session.get(SESSION_LAST_SEEN)
        if started is None or last_seen is None:
            # A login that did not pass through the portal's login view (the admin's).
            session[SESSION_STARTED] = started or now
            session[SESSION_LAST_SEEN] = now
            return None
        if now - started > limits["session_absolute_seconds"]:
            return self.end(request, ABSOLUTE_MESSAGE)
        if now - last_seen > limits["session_idle_seconds"]:
            return self.end(request, IDLE_MESSAGE)
        if now - last_seen >= LAST_SEEN_RESOLUTION:
            session[SESSION_LAST_SEEN] = now
        return None

    def end(self, request, message):
        path = request.get_full_path()
        logout(request)
        messages.info(request, message)
        if request.path == reverse("accounts:login"):
            return None
        return redirect_to_login(path if request.method == "GET" else "/", settings.LOGIN_URL)

    def check_unit_state(self, request):
        agent = request_agent(request)
        if agent is None or agent.employer.status not in REVIEW_STATES:
            return None
        allowed = login_redirect_url(agent)
        # The pages under the status page are the application's own (resubmit after a
        # rejection); each checks that the agent belongs to the application's unit.
        if (
            request.path.startswith(allowed)
            or request.path == reverse("accounts:logout")
            or request.path.startswith(OPEN_PREFIXES)
            or request.path.startswith(settings.STATIC_URL)
        ):
            return None
        return redirect(allowed)
