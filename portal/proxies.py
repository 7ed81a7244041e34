"""The client's address behind the portal's own reverse proxies.

Behind nginx (and the TLS proxy in front of it) REMOTE_ADDR is the last proxy's address: the
per-address login throttle would count every user as one, and the audit log would record the
proxy. Each trusted proxy appends the address it saw to X-Forwarded-For, so with
TRUSTED_PROXY_COUNT proxies the client is the entry that many places from the right; anything
further left was written by the client and is not believed (django-axes' notes say the same:
use a proxy count, never the leftmost entry).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def forwarded_client(header: str, proxies: int) -> str | None:
    """The address ``proxies`` entries from the right of an X-Forwarded-For value, if valid."""
    entries = [entry.strip() for entry in header.split(",") if entry.strip()]
    if proxies <= 0 or len(entries) < proxies:
        return None
    candidate = entries[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class TrustedProxyMiddleware:
    """Set REMOTE_ADDR to the client's address named by the trusted proxies (first middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)

    def __call__(self, request):
        if self.proxies:
            client = forwarded_client(request.META.get("HTTP_X_FORWARDED_FOR", ""), self.proxies)
            if client:
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)
