"""The clerks' admin speaks Chinese whatever the browser asks for.

Clerks work in Chinese (DESIGN.md section 13) and the project's own admin texts have no English
catalogue: following an English browser would mix Django's English with the portal's Chinese.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation


class AdminLanguageMiddleware:
    """Activate LANGUAGE_CODE under the admin's URL (after LocaleMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        if request.path_info.startswith(self.prefix):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
