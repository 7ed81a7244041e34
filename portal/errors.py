"""The answers to failures: a Chinese page for a missing page, a fault, or a database outage.

A database outage (PostgreSQL restarting, a failover) is a temporary state, not a fault of the
request: it gets 503 with Retry-After, and ``/healthz`` answers its JSON 503 even when the
failure came from the session lookup before any view ran (Django hands every uncaught exception,
middleware included, to ``handler500``). The fault pages use no context processor and no
database, since either may be what failed.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def _plain(title: str, lines: list[str], status: int) -> HttpResponse:
    body = loader.get_template("errors/_plain.html").render(
        {
            "title": title,
            "lines": lines,
            "portal_name": getattr(settings, "PORTAL_NAME", ""),
            "hotline": settings.SERVICE_HOTLINE,
        }
    )
    return HttpResponse(body, status=status)


def server_error(request):
    """handler500: 503 while the database is unreachable, else the fault page."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DatabaseError):
        logger.warning("database unavailable: %s", type(exc).__name__)
        if request.path == "/healthz":
            from portal.views import healthz

            return healthz(request)
        response = _plain(
            _("系统暂时无法访问"),
            [
                _("系统正在维护或暂时繁忙,请稍等片刻后刷新页面重试。"),
                _(
                    "如果您刚才提交了表单,请稍后在相关业务列表中确认是否已办理成功,"
                    "再决定是否重新提交。"
                ),
            ],
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _plain(
        _("系统出现故障"),
        [_("抱歉,处理您的请求时出现了故障,我们已经记录下来。请稍后重试,或返回首页。")],
        status=500,
    )
