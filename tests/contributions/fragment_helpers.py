"""A page template's {% constant_fragment %}s, {% slot %}s and stored form fields
(``|as_crispy_field_stored``) only store what it prints: the same template without them prints the
same page."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings as django_settings

_FRAGMENT_TAGS = re.compile(r"{% (?:end)?constant_fragment(?: [^%]*)? %}|{% (?:end)?slot %}")
# What differs between two renderings of one page: per-request tokens and keys.
_PER_REQUEST = re.compile(
    r'name="csrfmiddlewaretoken" value="[^"]+"|name="idempotency_key" value="[^"]+"|nonce="[^"]+"'
)


def plain_template(settings, tmp_path: Path, name: str) -> str:
    """Write ``name`` without its fragment and slot tags under ``tmp_path`` (added to the
    template directories) and return the name to load it by."""
    source = (Path(django_settings.BASE_DIR) / "templates" / name).read_text()
    # A field printed from the store per value, printed by the filter the store keeps.
    plain = _FRAGMENT_TAGS.sub("", source).replace(
        "|as_crispy_field_stored", "|as_crispy_field_fast"
    )
    assert plain != source and "constant_fragment" not in plain and "slot %}" not in plain
    target = tmp_path / "plain" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(plain)
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], tmp_path]}, *settings.TEMPLATES[1:]]
    return f"plain/{name}"


def page_text(response) -> str:
    assert response.status_code == 200
    return _PER_REQUEST.sub("", response.content.decode())
