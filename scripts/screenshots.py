"""Take full-page screenshots of the portal's public pages on desktop and phone widths.

The portal must already be running (this script starts only the browser):

    python scripts/screenshots.py --base-url http://127.0.0.1:8000 --out var/screenshots

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
PAGES = ["/", "/admin/login/"]
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


def take(base_url: str, out: Path) -> list[str]:
    """Screenshot every page at every viewport into out; return the problems found."""
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
                for path in PAGES:
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
    args = parser.parse_args(argv)

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 2
    problems = take(args.base_url.rstrip("/"), args.out)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
