"""Retake docs/chat.png, the README's picture of the chat: `byline serve` on the bundled
archive, one question asked in headless Chromium (Debian's, never a browser download).

    BYLINE_HOME=/tmp/shot-home python scripts/screenshot_chat.py [docs/chat.png]

Use a throwaway BYLINE_HOME: the default archive is copied and indexed there on first use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import free_port, wait_for_http  # noqa: E402

QUESTION = "When will Blinken visit China?"


def main(out: Path) -> None:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--port", str(port)], cwd=REPO, env=env
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, timeout=300, process=server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.locator("#byline-question textarea").fill(QUESTION)
            page.locator("#byline-question textarea").press("Enter")
            page.wait_for_selector("#byline-chat .byline-reply", timeout=300_000)
            page.locator("#byline-chat .byline-reply button", has_text="Open article").first.click()
            page.wait_for_selector("#byline-article-view h3", timeout=60_000)
            page.wait_for_timeout(1_000)  # the cited paragraph scrolls into view
            # Scrolling it into view may scroll the page too; the picture starts at the title.
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{out}: {out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "chat.png")
