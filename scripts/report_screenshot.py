"""Regenerate docs/report-screenshot.png: the example article page with its worst flagged sentence focused.

    .venv/bin/python scripts/report_screenshot.py [--page reports/example/articles/05-kim-putin-fused.html]

Uses headless Chromium (scripts/setup-browser.sh). Focusing the sentence, as Tab or the side list would,
opens its popover, so the picture shows the tint, the label, the marked span and the reasons at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mtqa.browser import chromium

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", type=Path, default=ROOT / "reports/example/articles/05-kim-putin-fused.html")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/report-screenshot.png")
    args = ap.parse_args()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 860})
        page.goto(args.page.resolve().as_uri())
        worst = page.locator(".side a").first.get_attribute("href")
        page.focus(worst)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
