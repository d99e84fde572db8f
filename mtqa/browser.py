"""Headless Chromium for looking at the HTML reports as an editor would: the browser tests, the report
benchmark and the README screenshot use it.

It drives Debian's ``chromium`` (``scripts/setup-browser.sh`` installs it) through Playwright's Python
package, which talks to an existing executable: Playwright's own browser download is never used. The flags
keep Chromium off the network (reports are self-contained, and on a closed network background services
would only flood it with refused connections).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SETUP_HINT = "run `bash scripts/setup-browser.sh` (`make test` runs it) or set MTQA_CHROMIUM to a Chromium executable"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


class BrowserMissing(RuntimeError):
    """No Chromium executable (or no Playwright) here; the message says how to install it."""


def chromium_path() -> str:
    """``$MTQA_CHROMIUM``, else ``chromium`` on the PATH."""
    path = os.environ.get("MTQA_CHROMIUM") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        raise BrowserMissing(f"Chromium not found ({os.environ.get('MTQA_CHROMIUM') or 'chromium'}): {SETUP_HINT}")
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (fresh profile, no network services), closed on exit."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # playwright is pinned in requirements.lock
        raise BrowserMissing("the Python package playwright is missing: pip install -r requirements.lock") from exc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
