"""Take full-page screenshots of the portal's pages on desktop and phone widths.

The portal must already be running (this script starts only the browser):

    python scripts/screenshots.py --base-url http://127.0.0.1:8000 --out var/screenshots

With --as-demo-admin (run from the project with the portal's own settings and database, after
`seed_demo`), the script also opens the ten pages agents use most as the demo unit's
administrator: it writes a logged-in session straight into the portal's session store, so no
captcha or SMS code is involved. Development only.

Exits non-zero when a page cannot be loaded, lacks the portal name, or scrolls sideways on a
phone. Only page paths, viewport sizes and file names are printed: no cookies, headers or content.
"""

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PAGES = ["/", "/login/", "/register/", "/help/", "/admin/login/"]
# The ten pages agents use most (issue 19), as the demo unit's administrator.
AGENT_PAGES = [
    "/dashboard/",
    "/enrollment/add/",
    "/enrollment/roster/",
    "/enrollment/batch/",
    "/contributions/declarations/",
    "/contributions/bills/",
    "/contributions/records/",
    "/contributions/proofs/",
    "/filings/",
    "/unit/inbox/",
]
VIEWPORTS = [(1280, 900), (375, 812)]
PHONE_WIDTH = 375
REQUIRED_TEXT = "单位社保网上服务大厅"


def slug(path: str) -> str:
    return path.strip("/").replace("/", "-") or "home"


def check_page(page, path: str, width: int) -> list[str]:
    """Return the problems found on the loaded page."""
    problems = []
    if REQUIRED_TEXT not in page.locator("body").inner_text():
        problems.append(f"{path} at {width}px: the text {REQUIRED_TEXT} is missing")
    if width <= PHONE_WIDTH:
        scroll_width, inner_width = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        if scroll_width > inner_width:
            problems.append(
                f"{path} at {width}px: scrolls sideways ({scroll_width}px wide in {inner_width}px)"
            )
    return problems


def demo_admin_session_cookie(base_url: str) -> dict:
    """A session of the demo unit's administrator, written into the portal's session store."""
    import os
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from employers.accounts.services import SESSION_LAST_SEEN, SESSION_STARTED
    from employers.models import Agent, Role

    agents = Agent.objects.select_related("user").filter(employer__ss_number="11000000001")
    agent = next((a for a in agents if Role.UNIT_ADMIN.value in a.roles), None)
    if agent is None:
        raise SystemExit("no demo unit administrator: run `python manage.py seed_demo` first")
    session = SessionStore()
    now = int(time.time())
    session[SESSION_KEY] = str(agent.user.pk)
    session[BACKEND_SESSION_KEY] = "employers.accounts.backends.AgentPasswordBackend"
    session[HASH_SESSION_KEY] = agent.user.get_session_auth_hash()
    session[SESSION_STARTED] = now
    session[SESSION_LAST_SEEN] = now
    session.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base_url}


def take(base_url: str, out: Path, *, as_demo_admin: bool = False) -> list[str]:
    """Screenshot every page at every viewport into out; return the problems found."""
    cookie = demo_admin_session_cookie(base_url) if as_demo_admin else None
    out.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, height in VIEWPORTS:
                context = browser.new_context(
                    viewport={"width": width, "height": height}, locale="zh-CN"
                )
                page = context.new_page()
                pages = list(PAGES)
                if cookie is not None:
                    context.add_cookies([cookie])
                    pages = [path for path in PAGES if path not in ("/login/", "/register/")]
                    pages += AGENT_PAGES
                for path in pages:
                    try:
                        response = page.goto(base_url + path, wait_until="load")
                    except PlaywrightError as exc:
                        problems.append(
                            f"{path} at {width}px: not loaded ({exc.message.splitlines()[0]})"
                        )
                        continue
                    if response is None or not response.ok:
                        status = response.status if response else "no response"
                        problems.append(f"{path} at {width}px: HTTP {status}")
                        continue
                    target = out / f"{slug(path)}-{width}x{height}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(f"saved {target}")
                    problems.extend(check_page(page, path, width))
                context.close()
        finally:
            browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("var/screenshots"))
    parser.add_argument(
        "--as-demo-admin",
        action="store_true",
        help="also the ten most used agent pages, as the demo unit's administrator",
    )
    args = parser.parse_args(argv)

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 2
    problems = take(args.base_url.rstrip("/"), args.out, as_demo_admin=args.as_demo_admin)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
