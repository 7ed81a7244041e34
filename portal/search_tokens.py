"""Search terms kept out of addresses: a search that may name a person is POSTed, never GET.

An address ends up in access and proxy logs, the browser history and the Referer header; a
name, a full document number or a phone number typed into a search must not. The search form
POSTs; the view keeps the terms in the agent's session, encrypted as every stored document
number is (portal.crypto), under a random token, and redirects to ``?s=<token>`` plus the
harmless filters (page, status, insurance type, months): the results, their pages and the links
that carry the search name only the token.

A token is good for TOKEN_LIFETIME seconds from the search, in the session it was made in and
for the user who made it; a session keeps the newest TOKENS_KEPT. An unknown or expired token
gives the empty search and a message.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from portal.crypto import decrypt, encrypt

TOKEN_PARAMETER = "s"
SESSION_KEY = "search_tokens"
# The session's idle limit (SESSION_IDLE_TIMEOUT): a search is repeated sooner than it is missed.
TOKEN_LIFETIME = 30 * 60
TOKENS_KEPT = 20
EXPIRED_MESSAGE = _("查询条件已过期,请重新输入查询条件后查询。")


@dataclass(frozen=True)
class Search:
    """The search behind a results page's address.

    ``data`` holds the harmless filters of the query string and the terms kept under the token
    (what the page's form is bound to); ``filters`` the harmless ones alone.
    """

    token: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    expired: bool = False

    @property
    def query(self) -> str:
        """The query string of a link to the same search (a page of it, its export)."""
        return search_query(self.token, **self.filters)


def search_query(token: str = "", **filters: str) -> str:
    """Urlencode the token and the filled-in harmless filters, in that order."""
    params = {TOKEN_PARAMETER: token} if token else {}
    params.update({name: value for name, value in filters.items() if value})
    return urlencode(params)


def search_token_create(request, terms: dict[str, str]) -> str:
    """Keep ``terms`` in the session under a new token for the request's user; return it."""
    now = int(time.time())
    kept = sorted(
        (
            (token, entry)
            for token, entry in request.session.get(SESSION_KEY, {}).items()
            if now - entry["at"] < TOKEN_LIFETIME
        ),
        key=lambda item: item[1]["at"],
    )[-(TOKENS_KEPT - 1) :]
    token = secrets.token_urlsafe(12)
    request.session[SESSION_KEY] = {
        **dict(kept),
        token: {
            "user": request.user.pk,
            "at": now,
            "terms": encrypt(json.dumps(terms, ensure_ascii=False)),
        },
    }
    return token


def search_token_terms(request, token: str) -> dict[str, str] | None:
    """The terms kept under ``token``; None when it is unknown, expired or another user's."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if (
        not isinstance(entry, dict)
        or entry.get("user") != request.user.pk
        or int(time.time()) - entry.get("at", 0) >= TOKEN_LIFETIME
    ):
        return None
    return json.loads(decrypt(entry["terms"]))


def search_redirect(request, terms: dict[str, str], **filters: str) -> HttpResponseRedirect:
    """Keep the search terms (when any is filled in) under a new token and redirect to the
    same page with ``?s=<token>`` and the harmless ``filters``."""
    token = search_token_create(request, terms) if any(terms.values()) else ""
    query = search_query(token, **filters)
    return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)


def search_read(request, token: str | None, *, filters: Iterable[str] = ()) -> Search:
    """Read the search of a results page: the ``filters`` named from its query string and the
    terms kept under ``token``. An unknown or expired token gives the empty search, marked
    ``expired``, with a message to search again."""
    terms = {}
    if token:
        terms = search_token_terms(request, token)
        if terms is None:
            messages.info(request, EXPIRED_MESSAGE)
            return Search(expired=True)
    harmless = {name: request.GET[name] for name in filters if request.GET.get(name)}
    return Search(token=token or "", filters=harmless, data={**harmless, **terms})
