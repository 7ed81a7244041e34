"""The public check of a proof's verification code (no login; DESIGN.md section 10).

Every answer has the same shape: one look-up by the normalised code, one audit row, one page.
An unknown, forged or malformed code gets one message that says nothing about why. Checks are
counted per address (RATE_LIMITS) and refused with 429 past the limit; the code space (about
79 bits) already makes guessing hopeless, the limit keeps scripted scraping cheap to refuse.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from contributions.proofs.codes import (
    proof_code_display,
    proof_code_looks_valid,
    proof_code_normalise,
)
from contributions.proofs.forms import ProofCheckForm
from contributions.proofs.selectors import proof_get_by_code
from contributions.proofs.services import proof_check_record
from portal import ratelimit
from portal.audit import client_ip

logger = logging.getLogger(__name__)

NOT_FOUND = _("未找到与该验证码对应的证明,请核对后重新输入。")
UNAVAILABLE = _("核验服务暂时不可用,请稍后再试。")


def _private(response):
    # The code is in the address: keep it out of caches and of the Referer of any later link.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _wait_text(seconds: int, *, daily: bool = False) -> str:
    # The limit that refused decides the message: near midnight a daily cap has minutes left.
    if daily or seconds >= 3600:
        hours = (seconds + 3599) // 3600
        return _g("今日核验次数已达上限,请约 %(hours)d 小时后再试。") % {"hours": hours}
    if seconds >= 60:
        minutes = (seconds + 59) // 60
        return _g("核验过于频繁,请 %(minutes)d 分钟后再试。") % {"minutes": minutes}
    return _g("核验过于频繁,请 %(seconds)d 秒后再试。") % {"seconds": max(seconds, 1)}


def _throttle(request):
    """Count one check against the address; return a refusal page, or None to go on."""
    ip = client_ip(request) or "unknown"
    limits = settings.RATE_LIMITS
    checks = [
        (f"proof:ip:{ip}", limits["proof_checks_per_ip_per_minute"], 60),
        (f"proof:ip-day:{ip}", limits["proof_checks_per_ip_per_day"], 86400),
    ]
    wait, daily = 0, False
    try:
        for key, limit, window in checks:
            verdict = ratelimit.hit(key, limit=limit, window=window)
            if not verdict.allowed:
                wait = max(wait, verdict.retry_after)
                daily = daily or window >= 86400
    except ratelimit.RateLimitUnavailable:
        logger.warning("proof check throttle store unavailable; check refused")
        return _private(
            TemplateResponse(
                request,
                "contributions/proof_public_limited.html",
                {"message": UNAVAILABLE},
                status=503,
            )
        )
    if not wait:
        return None
    response = TemplateResponse(
        request,
        "contributions/proof_public_limited.html",
        {"message": _wait_text(wait, daily=daily), "retry_after": wait},
        status=429,
    )
    response["Retry-After"] = str(max(wait, 1))
    return _private(response)


def proof_check_form(request):
    """The page where a code is typed in; a code sent with it goes to its check page."""
    form = ProofCheckForm(request.GET or None)
    if form.is_valid():
        code = proof_code_normalise(form.cleaned_data["code"])
        if code and proof_code_looks_valid(code):
            return redirect("proof_public:check", code=code)
        form.add_error("code", NOT_FOUND if code else _("请输入证明上的验证码。"))
    return _private(
        TemplateResponse(request, "contributions/proof_public_form.html", {"form": form})
    )


def proof_check(request, code: str):
    """Say whether the proof with this code is genuine (and what it states), revoked, or unknown."""
    refused = _throttle(request)
    if refused is not None:
        return refused
    proof = proof_get_by_code(code)
    proof_check_record(proof=proof, request=request)
    context = {"form": ProofCheckForm(), "proof": proof, "not_found": NOT_FOUND}
    if proof is not None:
        context.update(
            content=proof.content,
            code=proof_code_display(proof.code),
            display_name=proof.content.get("person", {}).get("name", ""),
        )
    return _private(TemplateResponse(request, "contributions/proof_public_result.html", context))
