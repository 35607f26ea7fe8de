"""Hostile and broken input: each file is indexed correctly or skipped with a warning that
names it and the reason; one bad file never fails a build, and the index is never damaged."""

from __future__ import annotations

import gzip
import json
import os
import random
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from embeddings.index import VectorIndex
from embeddings.store import IndexDirectory
from qa.cli import main
from qa.errors import CorpusError
from qa.index.build import build_index
from qa.index.version import WINDOWS_FILE
from qa.ingest.corpus import MAX_FILE_MB, decode_bytes, parse_file, parse_text, read_articles
from qa.search.query import retrieve

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
    b"\x1f\xf3\xffa\x00\x00\x00\x19IDATx\x9cc\xfc\xff\xff?\x03%\x80\x89\x81B0j\xc0\xa8\x01"
    b"\x03\x00\x00\x00\xff\xff\x03\x00\x8a\x0f\x1f\xe1\x00\x00\x00\x00IEND\xaeB`\x82"
)
GOOD = "Harbour reopens after the storm\n\nThe city harbour reopened on Monday.\n\nFerries run.\n"
LATIN = "Café opens in Málaga\n\nThe new café in Málaga serves crème brûlée at dawn.\n"


def _json_out(capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1]), captured.err


def _unreadable(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make files unreadable even for root (where chmod 000 does not stop reads): opening
    them raises what the OS raises for a file without read permission."""
    real_open = Path.open

    def guarded_open(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name in names:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)


def _hostile_folder(folder: Path) -> Path:
    """Three good articles among files that each break in their own way."""
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "latin1.txt").write_bytes(LATIN.encode("latin-1"))
    (folder / "utf16.md").write_bytes(
        "# Ice hockey final\n\nThe home team won the ice hockey final 3–2.\n".encode("utf-16")
    )
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\t\n \x0c\n", encoding="utf-8")
    (folder / "image.txt").write_bytes(PNG)
    (folder / "headline.txt").write_text("Only a headline\n", encoding="utf-8")
    (folder / "bad.jsonl").write_text('{not json\n{"title": "no text"}\n', encoding="utf-8")
    (folder / "locked.txt").write_text(GOOD.replace("Harbour", "Locked"), encoding="utf-8")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "loop.txt").symlink_to("loop.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")  # a folder loop
    (folder / "sub" / "same.txt").symlink_to(folder / "good.txt")  # indexed once
    return folder


def test_one_bad_file_never_fails_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _hostile_folder(tmp_path / "in")
    _unreadable(monkeypatch, "locked.txt")
    index = tmp_path / "index"
    assert main(["build", str(folder), "--index", str(index), "--json"]) == 0
    report, err = _json_out(capsys)
    assert report["articles"] == 3 and report["paragraphs"] == 4
    expected = {
        "empty.txt": "skipped, the file is empty",
        "blank.md": "skipped, the file is empty",
        "image.txt": "skipped, looks like a binary file",
        "headline.txt": "skipped, no paragraph of text under the title",
        "bad.jsonl:1": "not valid JSON",
        "bad.jsonl:2": "'text' is missing",
        "locked.txt": "skipped, cannot read it (Permission denied)",
        "loop.txt": "skipped, a broken link or a link loop",
        "notes.pdf": "unsupported type",
    }
    for name, reason in expected.items():
        assert any(name in w and reason in w for w in report["skipped"]), (name, report)
        assert any(name in line and reason in line for line in err.splitlines()), name
    assert len(report["skipped"]) == len(expected)
    # Decoded, not mojibake: the passage is the Latin-1 file's text, exactly.
    (passage,) = retrieve("What does the café in Málaga serve?", k=1, index=index)
    assert passage.text == "The new café in Málaga serves crème brûlée at dawn."
    assert Path(passage.source).name == "latin1.txt"
    titles = {p.title for p in retrieve("ice hockey final", k=4, index=index)}
    assert titles == {"Ice hockey final", "Harbour reopens after the storm", "Café opens in Málaga"}


def test_zero_indexable_articles_is_an_error_and_keeps_the_old_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    index = tmp_path / "index"
    build_index([good], index=index)
    current = IndexDirectory(index).current_name()
    before = [(p.text, p.score) for p in retrieve("harbour", k=2, index=index)]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "image.txt").write_bytes(PNG)
    capsys.readouterr()
    assert main(["build", str(bad), "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert "no indexable article" in err and "image.txt" in err and "empty.txt" in err
    assert "the existing index, if any, is kept" in err and "Traceback" not in err
    assert IndexDirectory(index).current_name() == current
    assert [(p.text, p.score) for p in retrieve("harbour", k=2, index=index)] == before


def test_folder_without_supported_files_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "b.docx").write_bytes(b"PK\x03\x04")
    (folder / ".hidden.txt").write_text(GOOD, encoding="utf-8")  # hidden files are ignored
    capsys.readouterr()
    assert main(["build", str(folder), "--index", str(tmp_path / "i")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no indexable article" in err and "a.pdf" in err and "b.docx" in err
    assert ".txt, .md, .jsonl" in err
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_index_path_that_is_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(good), "--index", str(good)]) == 1
    err = capsys.readouterr().err
    assert "cannot write the index at" in err and "Traceback" not in err
    assert good.read_text(encoding="utf-8") == GOOD


# --- encodings and binary data -------------------------------------------------------------

TEXT = "Grève à Málaga\n\n“Quotes” – and crème brûlée, naïve café.\n\nZweiter Absatz: Größe.\n"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", TEXT),
        ("utf-8-sig", TEXT),
        ("utf-16", TEXT),  # with a byte-order mark
        ("utf-16-le", TEXT),  # without one
        ("utf-16-be", TEXT),
        ("utf-32", TEXT),
        ("cp1252", TEXT),  # Windows: curly quotes and dashes
        ("latin-1", TEXT.replace("“", '"').replace("”", '"').replace("–", "-")),
    ],
)
def test_encodings_are_decoded_and_offsets_index_the_decoded_text(
    tmp_path: Path, encoding: str, text: str
) -> None:
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    (article,), warnings = parse_file(path)
    assert warnings == []
    assert article.title == "Grève à Málaga"
    assert [p.text for p in article.paragraphs] == [
        text.split("\n\n")[1],
        "Zweiter Absatz: Größe.",
    ]
    decoded = decode_bytes(path.read_bytes())
    assert decoded == text
    for paragraph in article.paragraphs:
        assert decoded[paragraph.start : paragraph.end] == paragraph.text


@pytest.mark.parametrize(
    "data",
    [
        PNG,
        gzip.compress(GOOD.encode() * 20, mtime=0),
        random.Random(7).randbytes(4096),
        b"\x01\x02\x03\x04\x1b[31m" * 200,  # valid UTF-8, all control characters
        "\ufeffBOM then NULs\x00\x00\x00".encode("utf-8"),
    ],
    ids=["png", "gzip", "random", "control", "nul-after-bom"],
)
def test_binary_files_are_skipped_with_a_warning(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(data)
    articles, warnings = parse_file(path)
    assert articles == []
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}: skipped, looks like a binary file, not text")


def test_invalid_data_after_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"\xff\xfe" + "Title\n\nBody.\n".encode("utf-16-le") + b"\x00")
    articles, warnings = parse_file(path)
    assert articles == []
    assert len(warnings) == 1 and "UTF-16 byte-order mark but is not valid UTF-16" in warnings[0]


# --- size --------------------------------------------------------------------------------------


def test_file_over_the_size_limit_is_skipped_without_reading_it(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    huge = folder / "huge.txt"
    block = ("A sentence of news text that goes on. " * 25 + "\n\n").encode()
    with huge.open("wb") as handle:
        for _ in range(100 * 2**20 // len(block) + 1):
            handle.write(block)
    assert huge.stat().st_size > 100 * 2**20
    tracemalloc.start()
    began = time.perf_counter()
    try:
        articles, warnings = read_articles([folder])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - began < 5
    assert peak < 5 * 2**20  # the 100 MB were never read
    assert [a.title for a in articles] == ["Harbour reopens after the storm"]
    assert warnings == [
        f"{huge.resolve()}: skipped, larger than {MAX_FILE_MB} MB (100.0 MB); "
        "split it into smaller files"
    ]


def test_parsing_stays_linear_in_time_and_memory(tmp_path: Path) -> None:
    # 20,000 short lines that each look like a heading: quadratic before (minutes).
    headings = "Title\n\n" + "".join(f"Short line {i}\n\n" for i in range(20_000))
    began = time.perf_counter()
    (article,) = parse_text(headings, "h.txt")
    assert time.perf_counter() - began < 10
    assert len(article.paragraphs) == 20_000

    # A 10 MB article file: seconds, and a few times its size in memory.
    paragraph = "A sentence of the body text that goes on, as paragraphs in news do. " * 6
    path = tmp_path / "big.txt"
    path.write_text("Big\n\n" + (paragraph + "\n\n") * 25_000, encoding="utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    began = time.perf_counter()
    try:
        (big,), warnings = parse_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert warnings == [] and len(big.paragraphs) == 25_000
    assert time.perf_counter() - began < 30
    assert peak < 10 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.0f} MB file"


def test_a_50000_character_paragraph_is_windowed_and_findable_by_its_end(
    tmp_path: Path, encoder
) -> None:  # type: ignore[no-untyped-def]
    filler = "The committee met again on Tuesday and discussed the weekly weather report. "
    ending = (
        "Then the lighthouse keeper stood up. He said that his three-legged orange cat is "
        "called Biscuit. The cat Biscuit sleeps in the lamp room of the lighthouse. Everyone "
        "agreed that Biscuit is the best lighthouse cat on the coast."
    )
    text = filler * ((50_000 - len(ending)) // len(filler)) + ending
    assert 49_000 < len(text) <= 50_000
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "long.txt").write_text(f"Committee minutes\n\n{text}\n", encoding="utf-8")
    (folder / "other.txt").write_text(GOOD, encoding="utf-8")
    index = tmp_path / "index"
    build_index([folder], index=index)

    version = IndexDirectory(index).current_path()
    paragraphs = [json.loads(line) for line in (version / "paragraphs.jsonl").open()]
    row = next(i for i, p in enumerate(paragraphs) if p["title"] == "Committee minutes")
    assert paragraphs[row]["text"] == text
    windows = np.load(version / WINDOWS_FILE)
    mine = windows["paragraph"] == row
    starts, ends = windows["start"][mine], windows["end"][mine]
    assert mine.sum() > 30  # the model reads 256 word pieces: some 1,300 characters here
    assert starts.min() == 0 and ends.max() == len(text)
    assert all(s <= e_prev for s, e_prev in zip(starts[1:], ends[:-1], strict=True))  # no gap

    # The window that answers is the last one, the only one that mentions the cat.
    question = "What is the name of the lighthouse keeper's three-legged orange cat?"
    vectors = VectorIndex.load(version, encoder.dimension)
    scores, ids = vectors.search(encoder.encode_query(question), len(vectors))
    best = int(ids[0][0])
    assert windows["paragraph"][best] == row and windows["end"][best] == len(text)
    first_window = int(np.flatnonzero(mine)[0])
    first_score = float(scores[0][list(ids[0]).index(first_window)])
    assert float(scores[0][0]) > first_score + 0.2
    (passage,) = retrieve(question, k=1, index=index)
    assert passage.title == "Committee minutes" and passage.end - passage.start == len(text)


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_bad_lines_are_skipped_one_by_one(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "title": "Rates up", "text": "Banks raised rates."}),
        "{not json",
        json.dumps({"title": "No text"}),
        json.dumps({"title": 3, "text": "title is a number"}),
        json.dumps(["a", "list"]),
        "null",
        json.dumps({"text": 42}),
        json.dumps({"text": "   \n  "}),
        json.dumps({"title": ["x"], "text": "title is a list"}),
        json.dumps({"text": "a"}) + " trailing",
        # Wrong types where a default is fine: published is not a date, id is an object.
        json.dumps({"text": "Kept with odd fields.", "published": 20230815, "id": {"n": 1}}),
        # U+2028 raw inside a string, as ensure_ascii=False writes it: one record, not two.
        json.dumps({"title": "Sep", "text": "One line\u2028same record."}, ensure_ascii=False),
        # The same id and title twice: both kept, with distinct article ids.
        json.dumps({"id": "a", "title": "Rates up", "text": "A later correction."}),
    ]
    path = tmp_path / "news.jsonl"
    # A BOM and Windows line endings, as Windows tools write.
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    articles, warnings = parse_file(path)
    assert [a.text for a in articles] == [
        "Banks raised rates.",
        "Kept with odd fields.",
        "One line\u2028same record.",
        "A later correction.",
    ]
    assert articles[1].published is None and articles[2].title == "Sep"
    assert len({a.article_id for a in articles}) == 4
    assert articles[0].paragraphs[0].source == f"{path}:1"
    reasons = {
        2: "not valid JSON",
        3: "'text' is missing",
        4: "'title' must be a string, got int",
        5: "expected a JSON object, got list",
        6: "expected a JSON object, got NoneType",
        7: "'text' is missing or not a non-empty string",
        8: "'text' is missing",
        9: "'title' must be a string, got list",
        10: "not valid JSON",
    }
    assert len(warnings) == len(reasons)
    for (line, reason), warning in zip(reasons.items(), warnings, strict=True):
        assert warning.startswith(f"{path}:{line}: ") and reason in warning, warning


# --- links and unreadable files ------------------------------------------------------------


def test_symlink_loops_and_repeated_links(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "real.txt").write_text(GOOD, encoding="utf-8")
    (folder / "again.txt").symlink_to("real.txt")
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "a.md").symlink_to("b.md")
    (folder / "b.md").symlink_to("a.md")
    (folder / "dangling.md").symlink_to("missing.md")
    (folder / "deep").mkdir()
    (folder / "deep" / "up").symlink_to("..")
    (folder / "deep" / "top").symlink_to(folder)
    articles, warnings = read_articles([folder, folder / "real.txt", folder / "again.txt"])
    assert len(articles) == 1  # one file, however many ways it was reached
    assert sorted(Path(w.split(":")[0]).name for w in warnings) == [
        "a.md",
        "b.md",
        "dangling.md",
        "self.txt",
    ]
    assert all("a broken link or a link loop" in w for w in warnings)
    with pytest.raises(CorpusError, match="self.txt: a broken link or a link loop"):
        read_articles([folder / "self.txt"])


def test_unreadable_file_and_folder_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    (folder / "closed").mkdir(parents=True)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "locked.txt").write_text(GOOD, encoding="utf-8")
    (folder / "closed" / "inside.txt").write_text(GOOD, encoding="utf-8")
    _unreadable(monkeypatch, "locked.txt")
    real_iterdir = Path.iterdir

    def guarded_iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self.name == "closed":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", guarded_iterdir)
    articles, warnings = read_articles([folder])
    assert [Path(a.source).name for a in articles] == ["good.txt"]
    assert sorted(warnings) == [
        f"{folder / 'closed'}: skipped, cannot list it (Permission denied)",
        f"{(folder / 'locked.txt').resolve()}: skipped, cannot read it (Permission denied)",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text(GOOD, encoding="utf-8")
    path.chmod(0)
    try:
        assert parse_file(path) == ([], [f"{path}: skipped, cannot read it (Permission denied)"])
    finally:
        path.chmod(0o600)


# --- questions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("x" * 100_000, "the question is 100,000 characters long"),
        ("why " * 25_000, "characters long"),
        ("\x00\x01\x02\x1b\x7f", "the question is empty"),
        ("\u200b\ufeff\u200e", "the question is empty"),
        ("\udcff\udcfe", "the question is empty"),  # lone surrogates, as argv can carry
        (" \n\t\r ", "the question is empty"),
    ],
    ids=["100k-chars", "100k-words", "controls", "format-chars", "surrogates", "blank"],
)
def test_hostile_questions_are_one_clear_line(
    question: str, message: str, seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["ask", question, "--index", str(seed_index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("byline: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
