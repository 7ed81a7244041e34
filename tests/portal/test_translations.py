"""The English catalogue (issue 19): every string the code and templates mark has an English
translation in locale/en, the committed .mo is compiled from the committed .po, English pages say
``lang="en"``, and the official forms stay Chinese whatever language the agent browses in.

When a test here fails after new strings were added: ``python3 dev.py messages`` (makemessages for
en with the project's ignore list, then msgfmt), translate the entries it lists in
locale/en/LC_MESSAGES/django.po (empty or ``#, fuzzy``), run it again, commit both files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import translation

from portal.pdf import in_form_language
from tests.conftest import require_service

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
CATALOGUE = LOCALE / "en" / "LC_MESSAGES" / "django.po"
# What the copy of the tree that makemessages reads leaves out (the command ignores more).
NOT_LINKED = {".git", ".venv", "locale", "var", "node_modules", "screenshots", ".pytest_cache"}
HOW_TO_FIX = (
    "Run `python3 dev.py messages`, translate these entries in "
    "locale/en/LC_MESSAGES/django.po (empty msgstr or '#, fuzzy'), run it again and commit "
    "django.po and django.mo."
)


def require_gettext():
    for tool in ("xgettext", "msgmerge", "msgfmt"):
        if shutil.which(tool) is None:
            require_service("GNU gettext", f"{tool} is missing (Debian package gettext)")


def describe(entry: polib.POEntry) -> str:
    where = ", ".join(sorted({path for path, _line in entry.occurrences}))
    text = entry.msgid if not entry.msgid_plural else f"{entry.msgid} | {entry.msgid_plural}"
    state = "fuzzy" if "fuzzy" in entry.flags else "untranslated"
    return f"  [{state}] {text!r}  ({where})"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """The committed catalogue merged with what makemessages finds in the code now, made in a
    temporary copy of the tree (symbolic links) so that the working tree is left as it is."""
    require_gettext()
    work = tmp_path_factory.mktemp("messages")
    for entry in ROOT.iterdir():
        if entry.name not in NOT_LINKED:
            (work / entry.name).symlink_to(entry)
    target = work / "locale" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(CATALOGUE, target / "django.po")
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with override_settings(LOCALE_PATHS=[work / "locale"]):
            call_command("makemessages", locale=["en"], symlinks=True, verbosity=0)
    finally:
        os.chdir(cwd)
    return polib.pofile(str(target / "django.po"))


def test_every_marked_string_has_an_english_translation(extracted):
    missing = [
        entry
        for entry in extracted
        if not entry.obsolete and (not entry.translated() or "fuzzy" in entry.flags)
    ]
    assert not missing, (
        f"{len(missing)} msgids are new, untranslated or fuzzy in locale/en:\n"
        + "\n".join(describe(entry) for entry in missing)
        + f"\n{HOW_TO_FIX}"
    )


def test_the_catalogue_has_nothing_the_code_no_longer_marks(extracted):
    current = {(entry.msgctxt, entry.msgid) for entry in extracted if not entry.obsolete}
    committed = polib.pofile(str(CATALOGUE))
    stale = [entry.msgid for entry in committed if (entry.msgctxt, entry.msgid) not in current]
    assert not stale, f"No longer used: {stale}\n{HOW_TO_FIX}"


def catalogue_texts(catalogue) -> dict:
    texts = {}
    for entry in catalogue:
        if entry.obsolete or "fuzzy" in entry.flags or not entry.msgid:
            continue
        value = (
            entry.msgstr if not entry.msgid_plural else tuple(sorted(entry.msgstr_plural.items()))
        )
        texts[(entry.msgctxt, entry.msgid)] = value
    return texts


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_the_committed_mo_is_compiled_from_the_committed_po(language, tmp_path):
    """CI compiles the catalogue: msgfmt accepts it (placeholders included), and the committed
    .mo holds exactly the .po's translations."""
    require_gettext()
    po_path = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(po_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    committed = polib.mofile(str(po_path.with_suffix(".mo")))
    assert catalogue_texts(committed) == catalogue_texts(polib.pofile(str(po_path))), (
        f"locale/{language}/LC_MESSAGES/django.mo is not compiled from django.po: "
        "run `python3 dev.py messages` and commit django.mo"
    )


def test_english_pages_are_english_and_say_so(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/").content.decode()

    assert '<html lang="en">' in page
    assert "Social Insurance Online Service for Employers" in page
    assert "单位社保网上服务大厅" not in page
    chinese = Client().get("/").content.decode()  # a browser that chose nothing
    assert '<html lang="zh-CN">' in chinese and "单位社保网上服务大厅" in chinese


@pytest.mark.django_db
def test_the_language_switch_sets_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/help/"})

    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/help/").content.decode()


def test_the_admin_follows_the_chosen_language_but_not_the_browser(client):
    browser_only = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "用户名" in browser_only and "User name" not in browser_only

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    chosen = client.get("/admin/login/").content.decode()
    assert "User name" in chosen and "用户名" not in chosen


def test_forms_render_in_chinese_under_english():
    @in_form_language
    def label():
        return translation.get_language(), str(translation.gettext("缴费申报"))

    with translation.override("en"):
        assert label() == (settings.LANGUAGE_CODE, "缴费申报")
        assert translation.gettext("缴费申报") == "Contributions"


@pytest.mark.django_db
def test_a_proof_issued_in_english_is_chinese_in_its_content_and_pdf():
    from contributions.models import ContributionProof
    from contributions.proofs.services import proof_issue
    from tests.contributions.proof_helpers import JUL, OCT, pdf_text, proof_unit

    unit = proof_unit()
    with translation.override("en"):
        proof = proof_issue(
            agent=unit.agent,
            kind=ContributionProof.Kind.PERSON,
            month_from=JUL,
            month_to=OCT,
            person=unit.person.person,
        )
        with proof.pdf.open("rb") as handle:
            text = pdf_text(handle.read())

    stored = str(proof.content)
    assert "未缴费/未到账" in stored or "正常" in stored, stored
    for english in ("Unpaid", "Active", "Resident ID card", "Pension insurance"):
        assert english not in stored and english not in text, english
    assert "参保缴费证明" in text and "养老保险" in text
