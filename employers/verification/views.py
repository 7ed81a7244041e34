"""The face provider's callback and the sandbox pages that play the provider and the bank."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from employers.selectors import face_session_get
from employers.verification.bank import sandbox_bank_statement, sandbox_transfer_arrive
from employers.verification.face import (
    RESULT_LIVENESS_FAILED,
    RESULT_MISMATCH,
    RESULT_PASS,
    FaceCallbackRejected,
    face_callback_accept,
    sandbox_face_respond,
)
from portal.identifiers import mask_id_number


def sandbox_enabled() -> bool:
    """Sandbox providers answer in development and staging, never in production."""
    if getattr(settings, "PRODUCTION", False):
        return False
    return bool(settings.DEBUG or getattr(settings, "SANDBOX_PROVIDERS", False))


class SandboxOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not sandbox_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)


# The provider authenticates with its HMAC signature, not a CSRF token.
@method_decorator(csrf_exempt, name="dispatch")
class FaceCallbackView(View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            session = face_callback_accept(
                payload=request.body,
                headers=request.headers,
                path=request.get_full_path(),
                request=request,
            )
        except FaceCallbackRejected as exc:
            return JsonResponse(
                {"ok": False, "code": exc.code, "message": exc.message}, status=exc.http_status
            )
        return JsonResponse({"ok": True, "state": session.state})


class SandboxFaceView(SandboxOnlyMixin, TemplateView):
    template_name = "employers/sandbox/face.html"
    buttons = [
        (RESULT_PASS, _("识别通过"), "btn-success"),
        (RESULT_MISMATCH, _("人员不符"), "btn-outline-danger"),
        (RESULT_LIVENESS_FAILED, _("活体检测失败"), "btn-outline-secondary"),
    ]

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.next_url = request.POST.get("next") or request.GET.get("next") or ""

    def get_session(self):
        return face_session_get(token=self.kwargs["token"])

    def get_context_data(self, **kwargs):
        session = kwargs.pop("session", None) or self.get_session()
        employer = session.application.employer
        return super().get_context_data(
            session=session,
            employer_name=employer.name,
            masked_id_number=mask_id_number(employer.legal_rep_id_number),
            buttons=self.buttons,
            next_url=self.safe_next_url(),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        session = self.get_session()
        try:
            sandbox_face_respond(
                session=session, result=request.POST.get("result", ""), request=request
            )
        except FaceCallbackRejected as exc:
            context = self.get_context_data(session=session, error=exc.message)
            return self.render_to_response(context, status=400)
        return redirect(self.safe_next_url() or request.path)

    def safe_next_url(self) -> str:
        allowed = url_has_allowed_host_and_scheme(
            self.next_url,
            allowed_hosts={self.request.get_host()},
            require_https=self.request.is_secure(),
        )
        return self.next_url if allowed else ""


class SandboxBankStatementView(SandboxOnlyMixin, TemplateView):
    template_name = "employers/sandbox/bank.html"

    def post(self, request, *args, **kwargs):
        """模拟到账: a transfer in transit arrives now (no waiting 1–3 days in development)."""
        sandbox_transfer_arrive(bank_reference=request.POST.get("arrive", ""))
        return redirect("verification:sandbox_bank")

    def get_context_data(self, **kwargs):
        return super().get_context_data(lines=sandbox_bank_statement(), **kwargs)
