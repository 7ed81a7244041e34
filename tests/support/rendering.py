"""Reading what a view gave its template, for tests that render the old template from it."""

from __future__ import annotations

from contextlib import contextmanager

from django.template.response import SimpleTemplateResponse


@contextmanager
def captured_context():
    """Within the block, the dict yielded holds the context and request of the last template
    response resolved (``captured["context"]``, ``captured["request"]``)."""
    captured: dict = {}
    resolve = SimpleTemplateResponse.resolve_context

    def capture(response, context):
        captured.update(context=context, request=response._request)
        return resolve(response, context)

    SimpleTemplateResponse.resolve_context = capture
    try:
        yield captured
    finally:
        SimpleTemplateResponse.resolve_context = resolve
