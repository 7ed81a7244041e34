"""``makemessages`` with the project's defaults, so that ``manage.py makemessages -l en`` (or
``python3 dev.py messages``) reads only the portal's own code and templates.

Left out: the virtual environment and other vendored code, tests, benchmarks, scripts, migrations
and the operators' console commands (their output is Chinese for the bureau's staff); source
references are kept per file only (no line numbers), so that moving code does not rewrite the
catalogue; the header's POT-Creation-Date is dropped, so that a run that finds nothing new leaves
the catalogue as it was and two branches that both ran it do not conflict on that line. The
official forms (the PDFs) are written in Chinese without gettext and render with
LANGUAGE_CODE active (portal.pdf.in_form_language).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management.commands import makemessages

IGNORED = [
    ".venv/*",
    "node_modules/*",
    "var/*",
    "static/*",
    "tests/*",
    "bench/*",
    "scripts/*",
    "docs/*",
    "locale/*",
    "*/migrations/*",
    "*/management/commands/*",
]


class Command(makemessages.Command):
    # The aliases some modules import gettext under (``gettext as _g``, ``gettext_lazy as _lazy``).
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_g", "--keyword=_lazy"]

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*(options.get("ignore_patterns") or []), *IGNORED]
        if options.get("add_location") is None:
            options["add_location"] = "file"
        options["no_obsolete"] = True
        result = super().handle(*args, **options)
        for base in self.locale_paths:  # where makemessages wrote (set during handle)
            for path in Path(base).glob("*/LC_MESSAGES/*.po"):
                text = path.read_text(encoding="utf-8")
                kept = re.sub(r'^"POT-Creation-Date: [^"]*\\n"\n', "", text, count=1, flags=re.M)
                if kept != text:
                    path.write_text(kept, encoding="utf-8")
        return result
