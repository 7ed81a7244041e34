"""The clerks' admin speaks Chinese whatever the browser asks for.

Clerks work in Chinese (DESIGN.md section 13): the browser's Accept-Language is not followed under
the admin (an English browser on a clerk's desk is no choice of the clerk's). A language picked on
purpose with the header's language switch (the language cookie) is followed: locale/en has the
admin's texts too.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation


class AdminLanguageMiddleware:
    """Under the admin's URL activate the language cookie's language, else LANGUAGE_CODE (after
    LocaleMiddleware, which would also follow the browser)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        if request.path_info.startswith(self.prefix):
            chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
            supported = {code for code, _name in settings.LANGUAGES}
            translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
