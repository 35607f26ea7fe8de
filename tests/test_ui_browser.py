"""What a person sees: headless Chromium against a live `byline serve`.

Needs Debian's chromium (`apt-get install -y chromium chromium-driver`); Playwright drives
it through ``executable_path`` (no `playwright install`, nothing downloaded).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import (
    BRIDGE_QUESTION,
    DEEP_QUESTION,
    HOSTILE_PAGE_QUESTION,
    HOSTILE_QUESTION,
    shared_server,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs /usr/bin/chromium: apt-get install -y chromium chromium-driver",
    ),
]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict]]:
    sync_api = pytest.importorskip("playwright.sync_api")
    url = shared_server()
    seen: dict[str, list[str]] = {"external": [], "dialogs": [], "errors": []}
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.new_page()
        local = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith(local) else seen["external"].append(request.url)
            ),
        )
        page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: seen["errors"].append(str(error)))
        page.goto(url)
        page.wait_for_selector("#byline-question textarea")
        yield page, seen
        context.close()


def ask(page: Any, question: str) -> float:
    """Type the question, press Enter; seconds until the reply's cards are on screen."""
    replies = page.locator("#byline-chat .byline-reply").count()
    box = page.locator("#byline-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#byline-chat .byline-reply .byline-card').length > 0"
        " && document.querySelectorAll('#byline-chat .byline-reply').length > n",
        arg=replies,
        timeout=60_000,  # generous: CI machines can be slow; the time is printed anyway
    )
    return time.perf_counter() - started


def test_first_open_shows_example_questions(browser_page: tuple[Any, dict]) -> None:
    page, _ = browser_page
    chat = page.locator("#byline-chat")
    # A non-default index: examples are made from its headlines when the page loads.
    asked = "What does the archive say about “Harbour bridge reopens after repairs”?"
    example = chat.get_by_text(asked)
    example.wait_for()
    assert "Ask the archive a question" in chat.inner_text()
    example.click()  # asks it at once
    page.wait_for_selector("#byline-chat .byline-reply .byline-card", timeout=30_000)
    assert asked in chat.locator(".user-row").first.inner_text()
    assert "Harbour bridge" in chat.locator(".byline-card").first.inner_text()


def test_question_answer_citation_and_article(browser_page: tuple[Any, dict]) -> None:
    page, seen = browser_page
    seconds = ask(page, BRIDGE_QUESTION)
    print(f"\nEnter to rendered answer: {seconds * 1000:.0f} ms")
    reply = page.locator("#byline-chat .byline-reply").last
    lead = reply.locator(".byline-lead").inner_text()
    assert re.search(r"“.+” \[1\]", lead), lead
    first_card = reply.locator(".byline-card").first
    assert first_card.locator(".byline-marker").inner_text() == "[1]"
    assert "reopened to traffic on Monday" in first_card.inner_text()
    assert first_card.locator("mark").count() >= 1
    assert "paragraph" in first_card.locator(".byline-meta").inner_text()

    first_card.locator("button.byline-open").click()
    wait_for_article(page, "Harbour bridge")
    cited = page.locator("#byline-article-view mark.byline-cited")
    assert "The Harbour Bridge reopened to traffic on Monday" in cited.inner_text()
    assert page.locator("#byline-article-view h3").inner_text().startswith("Harbour bridge")
    assert_in_view(page, cited)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "byline-answer.png"))
    assert seen["external"] == [], f"requests left the machine: {seen['external']}"
    assert seen["errors"] == []


def test_open_a_deep_paragraph_scrolls_it_into_view(browser_page: tuple[Any, dict]) -> None:
    page, _ = browser_page
    ask(page, DEEP_QUESTION)
    reply = page.locator("#byline-chat .byline-reply").last
    card = reply.locator(".byline-card", has_text="Mara Quist").first
    card.locator("button.byline-open").click()
    wait_for_article(page, "River floods report")
    cited = page.locator("#byline-article-view mark.byline-cited")
    assert (
        cited.inner_text()
        == "The new flood barrier was designed by the engineer Mara Quist of Delft."
    )
    assert_in_view(page, cited)
    page.screenshot(path=str(ARTIFACTS / "byline-deep-paragraph.png"))


def test_hostile_article_shows_markup_as_text(browser_page: tuple[Any, dict]) -> None:
    page, seen = browser_page
    ask(page, HOSTILE_QUESTION)
    reply = page.locator("#byline-chat .byline-reply").last
    card = reply.locator(".byline-card").first
    text = card.inner_text()
    assert "<script>window.__bylinePwned = 1</script>" in text  # headline
    assert '<img src=x onerror="window.__bylinePwned = 2">' in text  # section
    assert "<script>window.__bylinePwned = 3</script>" in text  # paragraph
    card.locator("button.byline-open").click()
    wait_for_article(page, "Volcano")
    article = page.locator("#byline-article-view").inner_text()
    assert '<img src=x onerror="window.__bylinePwned = 4">' in article
    page.wait_for_timeout(300)  # give any injected handler a chance to fire
    assert page.evaluate("typeof window.__bylinePwned") == "undefined"
    assert page.locator("#byline-chat img, #byline-article-view img").count() == 0
    assert page.locator("#byline-chat script, #byline-article-view script").count() == 0
    assert seen["dialogs"] == []
    page.screenshot(path=str(ARTIFACTS / "byline-hostile.png"))


def test_hostile_web_page_shows_markup_as_text(browser_page: tuple[Any, dict]) -> None:
    page, seen = browser_page
    ask(page, HOSTILE_PAGE_QUESTION)
    card = page.locator("#byline-chat .byline-reply").last.locator(".byline-card").first
    text = card.inner_text()
    assert "Glacier <script>window.__bylinePwned = 5</script> retreat measured" in text
    assert '<img src=x onerror="window.__bylinePwned = 8">' in text
    card.locator("button.byline-open").click()
    wait_for_article(page, "Glacier")
    article = page.locator("#byline-article-view").inner_text()
    assert '<img src=x onerror="window.__bylinePwned = 8">' in article
    assert "keep to the marked path" in article and "Weather" not in article  # no menu
    page.wait_for_timeout(300)  # give any injected handler a chance to fire
    assert page.evaluate("typeof window.__bylinePwned") == "undefined"
    assert page.locator("#byline-chat img, #byline-article-view img").count() == 0
    assert page.locator("#byline-chat script, #byline-article-view script").count() == 0
    assert seen["dialogs"] == []


def wait_for_article(page: Any, headline_start: str) -> None:
    """Until the panel shows that article with a cited paragraph (not the previous one)."""
    page.wait_for_function(
        """start => {
          const h = document.querySelector('#byline-article-view h3');
          return h && h.textContent.startsWith(start)
            && document.querySelector('#byline-article-view mark.byline-cited');
        }""",
        arg=headline_start,
        timeout=10_000,
    )


def assert_in_view(page: Any, locator: Any) -> None:
    """The element is visible inside the article panel's scroll box and the window."""
    page.wait_for_timeout(200)  # scrollIntoView runs after the panel re-renders
    inside = page.evaluate(
        """() => {
          const mark = document.querySelector('#byline-article-view mark.byline-cited');
          const r = mark.getBoundingClientRect();
          let box = mark.parentElement;
          while (box && !(box.scrollHeight > box.clientHeight &&
                 ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) {
            box = box.parentElement;
          }
          const b = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
          return r.top < Math.min(b.bottom, innerHeight) && r.bottom > Math.max(b.top, 0);
        }"""
    )
    assert inside, "the cited paragraph is not scrolled into view"


def test_upload_rebuilds_and_chat_uses_the_new_index(
    browser_page: tuple[Any, dict], tmp_path: Path
) -> None:
    page, seen = browser_page
    good = tmp_path / "Penguin news.md"
    good.write_text(
        "# Penguins march inland\n\nEmperor penguins marched forty kilometres inland to breed.",
        encoding="utf-8",
    )
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00")
    page.get_by_role("tab", name="Manage the archive").click()
    page.locator("#byline-archive-folder").get_by_text("Archive folder").wait_for()
    page.locator("#byline-upload input[type=file]").set_input_files([str(good), str(broken)])
    page.locator("#byline-upload").get_by_text("broken").wait_for()  # name, suffix apart
    page.get_by_role("button", name="Add to the archive and rebuild the index").click()
    status = page.locator("#byline-build-status")
    status.get_by_text("Index rebuilt").wait_for(timeout=60_000)
    text = status.inner_text()
    assert "Added Penguin_news.md to the archive" in text
    assert "broken.txt" in text and "binary" in text
    page.locator("#byline-articles").get_by_text("Penguins march inland").wait_for()
    page.get_by_role("tab", name="Ask").click()
    ask(page, "How far inland did the emperor penguins march?")
    first = page.locator("#byline-chat .byline-reply").last.locator(".byline-card").first
    assert "Penguins march inland" in first.inner_text()
    assert seen["errors"] == []
