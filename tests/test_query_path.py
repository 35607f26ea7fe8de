"""The query path on ONNX: `byline ask` imports no torch, questions run concurrently with the
same answers as one at a time, and the UI answers several questions at once."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qa.search.query import get_retriever
from qa.search.retrieval import Filters
from tests.conftest import REPO

# Questions encoded together (embeddings/batching.py) or sentences embedded in other batches
# get vectors that differ from one-at-a-time ones in the 7th decimal (ONNX Runtime's sums run
# in an order that depends on the batch's shape), so scores are compared within TOLERANCE;
# everything else (passages, their order, texts, spans) must be equal.
TOLERANCE = 1e-5


def _same(got: object, expected: object) -> bool:
    if isinstance(expected, float) and isinstance(got, float):
        return abs(got - expected) <= TOLERANCE
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(_same(got[k], expected[k]) for k in got)
    if isinstance(expected, list | tuple) and isinstance(got, list | tuple):
        return len(got) == len(expected) and all(map(_same, got, expected))
    return got == expected


QUESTIONS = (
    "When will Antony Blinken visit China?",
    "What did the WHO say about the EG.5 variant?",
    "How fast did Threads reach 100 million users?",
    "Why did the US defense secretary visit India?",
)


def test_ask_imports_no_torch_transformers_or_sklearn(seed_index: Path) -> None:
    from embeddings.batching import BatchingEncoder
    from embeddings.onnx_encoder import OnnxEncoder

    # The export is made once per data folder (this loads torch here, not in the child).
    encoder = get_retriever(seed_index).encoder
    assert isinstance(encoder, BatchingEncoder) and isinstance(encoder.inner, OnnxEncoder)
    code = (
        "import sys; from ui.cli import main; "
        f"code = main(['ask', {QUESTIONS[0]!r}, '-k', '2', '--index', {str(seed_index)!r}]); "
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'sklearn') "
        "if m in sys.modules]; print('heavy:', heavy); sys.exit(code)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "BYLINE_QUERY_BACKEND": "auto"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "heavy: []" in out.stdout
    assert "[1]" in out.stdout


def test_concurrent_questions_answer_as_sequential_ones(seed_index: Path) -> None:
    retriever = get_retriever(seed_index)
    jobs = [(q, f) for q in QUESTIONS for f in (Filters(), Filters(date_to="2023-07-31"))] * 4

    def run(job: tuple[str, Filters]) -> list[tuple[str, int, float]]:
        passages = retriever.retrieve(job[0], 5, job[1])
        return [(p.article_id, p.paragraph, p.score) for p in passages]

    expected = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(run, jobs))
    assert [[row[:2] for row in rows] for rows in got] == [
        [row[:2] for row in rows] for rows in expected
    ]
    assert _same(got, expected), (got, expected)


def test_answers_with_highlights_run_concurrently(seed_index: Path) -> None:
    import qa

    def ask(question: str) -> object:
        return qa.answer(question, index=seed_index).to_dict()

    expected = [ask(q) for q in QUESTIONS * 3]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(ask, QUESTIONS * 3))
    assert _same(got, expected), (got, expected)


def test_ui_answers_several_questions_at_once(tmp_path: Path) -> None:
    from ui.app import build_app

    app = build_app(tmp_path / "no-index-yet", concurrency=3)
    names = ("respond_dated", "respond_all_dates", "ask_api")
    asking = [fn for fn in app.fns.values() if fn.name in names]
    assert len(asking) == 4  # Enter, an example click, "Search all dates", and /ask
    assert {(fn.concurrency_id, fn.concurrency_limit) for fn in asking} == {("ask", 3)}


@pytest.mark.parametrize("value", ["0", "many"])
def test_serve_rejects_a_bad_concurrency(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ui.cli import main

    assert main(["serve", "--concurrency", value]) == 2
    assert "--concurrency" in capsys.readouterr().err


def test_bad_concurrency_setting_names_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.errors import InputError
    from qa.settings import Settings

    monkeypatch.setenv("BYLINE_CONCURRENCY", "lots")
    with pytest.raises(InputError, match="BYLINE_CONCURRENCY must be a whole number >= 1, got"):
        Settings.resolve()
    monkeypatch.setenv("BYLINE_CONCURRENCY", "8")
    assert Settings.resolve().concurrency == 8
