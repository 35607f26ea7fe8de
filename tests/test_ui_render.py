"""The UI's pure formatting functions: cards, citation line, article view, escaping."""

from __future__ import annotations

import re
from pathlib import Path

from qa import Answer, ArticleInfo, ArticleText, Passage
from ui import render
from ui.uploads import MAX_UPLOAD_BYTES, check_upload, safe_name, store_uploads

SOURCE = (
    "Blinken to visit China\n\nRelease time: Apr 13, 2024\n\n"
    "US Secretary of State Antony Blinken will visit China from June 18 to 19. "
    "The visit was finally confirmed.\n\nSecond paragraph here."
)
P_START = SOURCE.index("US Secretary")
P_END = SOURCE.index("confirmed.") + len("confirmed.")
S1_END = SOURCE.index("19.") + len("19.")


def passage(**changes: object) -> Passage:
    fields: dict[str, object] = dict(
        text=SOURCE[P_START:P_END],
        score=0.8123,
        rank=1,
        article_id="a1",
        title="Blinken to visit China",
        published="2024-04-13",
        section="Diplomacy",
        paragraph=1,
        source="news.txt",
        start=P_START,
        end=P_END,
        highlights=((P_START, S1_END),),
    )
    fields.update(changes)
    return Passage(**fields)  # type: ignore[arg-type]


def answer(passages: list[Passage], answered: bool = True, reason: str = "") -> Answer:
    return Answer(question="When?", passages=passages, answered=answered, reason=reason)


def strip_tags(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def test_mark_spans_uses_source_offsets() -> None:
    text = SOURCE[P_START:P_END]
    out = render.mark_spans(text, [(P_START, S1_END)], offset=P_START)
    assert out.startswith("<mark>US Secretary of State")
    assert out.count("<mark>") == 1
    assert "June 18 to 19.</mark> The visit" in out


def test_mark_spans_clips_and_merges() -> None:
    out = render.mark_spans("abcdef", [(8, 12), (10, 13), (11, 100), (3, 5)], offset=10)
    # (8,12)->(0,2), (10,13)->(0,3) merge; (11,100)->(1,6) merges too; (3,5) is before text.
    assert out == "<mark>abcdef</mark>"
    assert render.mark_spans("abc", [], offset=0) == "abc"
    assert render.mark_spans("abc", [(5, 9)], offset=0) == "abc"


def test_card_shows_everything_a_reader_needs() -> None:
    card = render.render_card(passage())
    text = strip_tags(card)
    assert "[1]" in text
    assert "Blinken to visit China" in text
    assert "13 Apr 2024" in text
    assert "Diplomacy" in text
    assert "paragraph 1" in text
    assert "score 0.81" in text
    assert (
        "<mark>US Secretary of State Antony Blinken will visit China from June 18 to 19.</mark>"
        in card
    )
    assert f'class="byline-open" value="a1|{P_START}|{P_END}"' in card
    assert "\n" not in card  # one Markdown HTML block in the chat


def test_card_without_date_or_section() -> None:
    card = render.render_card(passage(published=None, section=None, highlights=()))
    assert "<time" not in card
    assert "byline-section" not in card
    assert "<mark>" not in card


def test_citation_line_quotes_best_sentence_with_marker() -> None:
    reply = render.render_reply(answer([passage(), passage(rank=2)]))
    lead = re.search(r'<p class="byline-lead">(.*?)</p>', reply)
    assert lead is not None
    lead_text = strip_tags(lead.group(1))
    assert lead_text.startswith(
        "“US Secretary of State Antony Blinken will visit China from June 18 to 19.” [1]"
    )
    assert "See also [2]" in lead_text
    assert reply.index("byline-lead") < reply.index("byline-card")


def test_citation_line_without_highlights_uses_opening() -> None:
    line = render.citation_line(answer([passage(highlights=())]))
    assert "US Secretary of State" in line and "[1]" in line


def test_long_quote_is_shortened() -> None:
    long_text = "word " * 200
    p = passage(text=long_text, start=0, end=len(long_text), highlights=())
    assert len(render.best_sentence(p)) <= render.MAX_QUOTE_CHARS + 2


def test_unanswered_says_so_and_marks_cards_weak() -> None:
    reply = render.render_reply(answer([passage()], answered=False, reason="low score"))
    text = strip_tags(reply)
    assert "Nothing in the archive answers this question" in text
    assert "low score" in text
    assert "weak match" in text
    assert "byline-weak" in reply


def test_hostile_article_text_is_escaped_everywhere() -> None:
    evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'
    text = f"Intro {evil} end"
    p = passage(
        text=text,
        start=0,
        end=len(text),
        title=evil,
        section=evil,
        source=evil,
        article_id='x" onclick="alert(1)|',
        published="<b>2024</b>",
        highlights=((6, 20),),
    )
    reply = render.render_reply(answer([p]))
    assert "<script" not in reply and "<img" not in reply
    assert "&lt;script&gt;" in reply and "&lt;img src=x onerror=" in reply
    assert 'onclick="' not in reply
    article = ArticleText(
        article_id=p.article_id, title=evil, published=None, source=evil, start=0, text=text
    )
    view = render.render_article(article, 0, len(text))
    assert "<script" not in view and "<img" not in view
    assert "&lt;script&gt;" in render.render_error(evil)


def test_article_view_marks_exactly_the_paragraph() -> None:
    article_start = SOURCE.index("Blinken")
    article = ArticleText(
        article_id="a1",
        title="Blinken to visit China",
        published="2024-04-13",
        source="news.txt",
        start=article_start,
        text=SOURCE[article_start:],
    )
    view = render.render_article(article, P_START, P_END)
    marked = re.findall(r'<mark class="byline-cited" id="byline-cited">(.*?)</mark>', view, re.S)
    assert marked == [SOURCE[P_START:P_END]]
    # Text outside the mark is the article, unchanged (line breaks kept for pre-wrap).
    assert "Second paragraph here." in view
    assert "\n\nSecond" in view
    assert render.render_article(article).count("<mark") == 0


def test_format_date() -> None:
    assert render.format_date("2024-04-03") == "3 Apr 2024"
    assert render.format_date(None) is None
    assert render.format_date("sometime") == "sometime"


def test_source_choices_round_trip() -> None:
    [(label, value)] = render.source_choices([passage(article_id="id|with|bars")])
    assert label.startswith("[1] Blinken")
    assert render.parse_source_choice(value) == ("id|with|bars", P_START, P_END)
    assert render.parse_source_choice("garbage") is None
    assert render.parse_source_choice("a|b|c") is None


def test_article_rows() -> None:
    info = ArticleInfo(article_id="a", title="T", published=None, paragraphs=3, source="f.txt")
    assert render.article_rows([info]) == [["T", "", 3, "f.txt"]]


def test_safe_name_strips_paths_and_odd_characters() -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("/abs/path/a.md") == "a.md"
    assert safe_name("C:\\Users\\x\\my file.JSONL") == "my_file.jsonl"
    assert safe_name("..") == "upload"
    assert safe_name(".hidden.txt") == "hidden.txt"
    assert "/" not in safe_name("a/../../b<script>.txt")
    assert safe_name("Über Bericht.md") == "Über_Bericht.md"
    assert safe_name("新闻\u202egnp.txt") == "新闻_gnp.txt"  # no right-to-left override
    assert safe_name("a.t\x00xt") == "a.txt"


def test_check_upload_refuses_bad_type_and_size(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as out:
        out.truncate(MAX_UPLOAD_BYTES + 1)
    message = check_upload(big, "big.txt")
    assert message is not None and "the limit is 20,971,520 bytes" in message
    exe = tmp_path / "x.exe"
    exe.write_bytes(b"MZ")
    message = check_upload(exe, "x.exe")
    assert message is not None and "not supported" in message and ".txt" in message


def test_store_uploads_stays_inside_archive(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    upload = tmp_path / "up.txt"
    upload.write_text("Title\n\nBody text here.", encoding="utf-8")
    (archive).mkdir()
    (archive / "passwd.txt").write_text("existing", encoding="utf-8")
    result = store_uploads(
        [(upload, "../../passwd.txt"), (upload, "bad.txt")],
        archive,
        lambda path, name: "bad.txt: no article" if name == "bad.txt" else None,
    )
    assert [p.name for p in result.saved] == ["passwd-2.txt"]
    assert result.saved[0].parent == archive
    assert (archive / "passwd.txt").read_text(encoding="utf-8") == "existing"
    assert result.problems == ("bad.txt: no article",)
    assert not (tmp_path / "passwd.txt").exists()


def test_headline_examples() -> None:
    long = ArticleInfo("b", "word " * 30, None, 1, "f.txt")
    short = ArticleInfo("a", "Bridge  reopens", None, 1, "f.txt")
    examples = render.headline_examples([short, long, short, short, short])
    assert examples[0] == "What does the archive say about “Bridge reopens”?"
    assert len(examples) == 4 and examples[1].endswith(" …”?") and len(examples[1]) < 120
