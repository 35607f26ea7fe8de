"""What a person sees of time words and syndicated copies: headless Chromium against a live
`byline serve` over the generated archive (tests/time_archive.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from test_ui_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from time_archive import write_archive
from ui_helpers import REPO, TEST_ENV, free_port, wait_for_http

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import qa

    root = tmp_path_factory.mktemp("time-serve")
    qa.build_index([write_archive(root / "archive")], index=root / "index")
    port = free_port()
    env = {**os.environ, **TEST_ENV, "BYLINE_HOME": str(root / "home")}
    with (root / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--index", str(root / "index")]
            + ["--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", timeout=90, process=process)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def page(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-time")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1800},  # the calendar opens below the box
        )
        page = context.new_page()
        page.goto(server)
        page.wait_for_selector("#byline-question textarea")
        page.get_by_text("Settings (apply to the next question)").click()
        page.wait_for_selector("#byline-date-from input", state="visible", timeout=30_000)
        yield page
        context.close()


def ask(page: Any, question: str) -> Any:
    """Ask and wait for the new reply; returns its locator."""
    replies = page.locator("#byline-chat .byline-reply").count()
    page.locator("#byline-question textarea").fill(question)
    page.locator("#byline-question textarea").press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#byline-chat .byline-reply').length > n",
        arg=replies,
        timeout=60_000,
    )
    return page.locator("#byline-chat .byline-reply").last


def pick(page: Any, picker: str, typed: str, day: str) -> None:
    """Type a date into a picker's box, then choose ``day`` of that month in its calendar."""
    box = page.locator(f"{picker} input")
    box.fill(typed)
    box.press("Enter")
    page.locator(f"{picker} button.calendar").click()
    day_button = page.locator(
        ".picker button.day:not(.other-month)", has_text=re.compile(f"^{day}$")
    )
    day_button.first.click()
    page.locator(".picker .action-button", has_text="Done").click()


def test_syndicated_story_is_one_card_with_its_copies(page: Any) -> None:
    reply = ask(page, "Why did dock workers strike at the port of Rotterdam?")
    copies = reply.locator(".byline-also-in")
    assert copies.count() == 1
    assert copies.locator("summary").inner_text() == "also in 2 articles"
    copies.locator("summary").click()
    listed = copies.locator("li")
    assert listed.count() == 2
    texts = [listed.nth(i).inner_text() for i in range(2)]
    assert any("Apr 2024" in text for text in texts)
    headline = listed.nth(1).locator("button").inner_text()
    listed.nth(1).locator("button").click()
    page.wait_for_function(
        "t => (document.querySelector('#byline-article-view h3') || {}).textContent === t",
        arg=headline,
        timeout=10_000,
    )


def test_date_pickers_fit_their_row(page: Any) -> None:
    # Each picker's calendar button lies inside its own box (it was cut off at the right).
    for picker in ("#byline-date-from", "#byline-date-to", "#byline-as-of"):
        block = page.locator(picker).bounding_box()
        button = page.locator(f"{picker} button.calendar").bounding_box()
        assert button["x"] + button["width"] <= block["x"] + block["width"], picker


def test_date_pickers_restrict_the_range(page: Any) -> None:
    pick(page, "#byline-date-from", "2024-04-01", "8")
    pick(page, "#byline-date-to", "2024-04-01", "14")
    assert page.locator("#byline-date-from input").input_value() == "2024-04-08"
    assert page.locator("#byline-date-to input").input_value() == "2024-04-14"
    reply = ask(page, "What did the central bank decide on interest rates?")
    assert "Searched articles from 8–14 April 2024" in reply.inner_text()
    dates = reply.locator(".byline-card time").all_inner_texts()
    assert dates and all(
        date.endswith("Apr 2024") and 8 <= int(date.split()[0]) <= 14 for date in dates
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "byline-date-range.png"), full_page=True)
    clear_dates(page)


def test_reversed_or_bad_range_is_a_message(page: Any) -> None:
    pick(page, "#byline-date-from", "2024-04-01", "14")
    pick(page, "#byline-date-to", "2024-04-01", "8")
    reply = ask(page, "What did the central bank decide on interest rates?")
    error = reply.locator(".byline-error")
    assert "swap the two dates: from 2024-04-08 to 2024-04-14" in error.inner_text()
    assert reply.locator(".byline-card").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "byline-date-range-reversed.png"), full_page=True)
    # A date typed into the picker's box that is no day at all.
    clear_dates(page)
    box = page.locator("#byline-date-from input")
    box.fill("2024-02-30")
    box.press("Enter")
    reply = ask(page, "What did the central bank decide on interest rates?")
    assert "write it as YYYY-MM-DD" in reply.locator(".byline-error").inner_text()
    assert "Traceback" not in page.content()
    clear_dates(page)


def clear_dates(page: Any) -> None:
    for picker in ("#byline-date-from", "#byline-date-to"):
        page.locator(f"{picker} input").fill("")
        page.locator(f"{picker} input").press("Enter")


def test_time_words_show_the_range_and_clear_it(page: Any) -> None:
    pick(page, "#byline-as-of", "2024-04-01", "15")
    reply = ask(page, "What did the central bank decide on interest rates last week?")
    note = page.locator("#byline-range-note")
    note.wait_for(state="visible")
    assert "8–14 April 2024" in note.inner_text() and "last week" in note.inner_text()
    assert "20 Mar 2024" not in reply.inner_text()
    page.locator("#byline-clear-range").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#byline-chat .byline-reply').length >= 4"
        " && [...document.querySelectorAll('#byline-chat .byline-reply')].pop()"
        ".innerText.includes('20 Mar 2024')",
        timeout=60_000,
    )
    assert not page.locator("#byline-range-row").is_visible()
