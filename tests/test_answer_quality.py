"""Hybrid fusion, metrics, highlights, "no answer", follow-ups and de-duplication."""

import json
from pathlib import Path

import pytest

import qa
from qa.cli import main
from qa.errors import InputError
from qa.eval.evaluation import score_runs
from qa.rank.diversity import drop_near_duplicates, near_duplicates
from qa.rank.followup import Query, needs_context
from qa.rank.fusion import fuse
from tests.conftest import SHARED


def test_fusion_weights_at_the_ends_reproduce_each_list() -> None:
    dense = [(1, 0.9), (2, 0.5), (3, 0.4)]
    lexical = [(3, 12.0), (4, 7.0), (1, 1.0)]
    assert [s.row for s in fuse(dense, lexical, 1.0)][:3] == [1, 2, 3]
    assert [s.row for s in fuse(dense, lexical, 0.0)][:3] == [3, 4, 1]
    mixed = fuse(dense, lexical, 0.5)
    # Row 3 is 3rd of dense and 1st of BM25; row 1 is 1st and 3rd: they tie on top.
    assert {s.row for s in mixed[:2]} == {1, 3}
    assert mixed[0].dense is not None and mixed[0].lexical is not None


def test_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    runs = {"q1": ["x", "a", "y"], "q2": ["b", "z", "c"]}
    metrics = score_runs(runs, qrels, (1, 5))
    assert metrics["recall@1"] == pytest.approx((0 + 0.5) / 2)
    assert metrics["recall@5"] == pytest.approx(1.0)
    assert metrics["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    # nDCG@10: q1 = (1/log2 3) / 1; q2 = (1 + 1/log2 4) / (1 + 1/log2 3)
    import math

    q1 = 1 / math.log2(3)
    q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert metrics["ndcg@10"] == pytest.approx((q1 + q2) / 2, abs=1e-4)


@pytest.mark.skipif(
    not (SHARED / "eval" / "multihop-rag-news").is_dir(), reason="no shared eval data"
)
def test_eval_command_on_a_slice(capsys: pytest.CaptureFixture[str]) -> None:
    folder = SHARED / "eval" / "multihop-rag-news"
    assert main(["eval", str(folder), "--limit", "30", "--mode", "all", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["mode"] for line in lines] == ["dense", "bm25", "hybrid"]
    for line in lines:
        assert line["dataset"] == "multihop-rag-news" and line["queries"] == 30
        assert line["corpus"] == 438
        # answer_in_quote appears only when some of the 30 questions have a string answer.
        assert set(line["metrics"]) - {"answer_in_quote"} == {
            "recall@1",
            "recall@5",
            "recall@10",
            "recall@100",
            "mrr@10",
            "ndcg@10",
            "passage_hit@5",
        }
        assert 0.3 < line["metrics"]["recall@10"] <= 1.0
    assert main(["eval", str(folder / "nope")]) == 1


def test_highlights_are_source_spans_of_whole_sentences(seed_index: Path) -> None:
    result = qa.answer(
        "How many basis points did the Russian central bank raise rates?", k=3, index=seed_index
    )
    assert result.answered
    best = result.passages[0]
    assert best.highlights
    source = Path(best.source).read_text(encoding="utf-8")
    for start, end in best.highlights:
        assert best.start <= start < end <= best.end
        assert source[start:end].rstrip().endswith((".", "!", "?", '"', "”"))
    assert any("350 basis points" in source[s:e] for s, e in best.highlights)


def test_highlight_does_not_split_inside_eg5(seed_index: Path) -> None:
    result = qa.answer("Which countries report rising EG.5 cases?", k=1, index=seed_index)
    passage = result.passages[0]
    text = Path(passage.source).read_text(encoding="utf-8")
    for start, end in passage.highlights:
        assert not text[start:end].endswith("EG.")


@pytest.mark.parametrize(
    "question", ["How do I bake sourdough bread?", "What is the boiling point of tungsten?"]
)
def test_off_topic_question_is_not_answered_but_keeps_nearest(
    seed_index: Path, question: str
) -> None:
    result = qa.answer(question, k=3, index=seed_index)
    assert result.answered is False
    assert "evidence is too weak" in result.reason and "similarity" in result.reason
    assert len(result.passages) == 3


def test_follow_up_question_finds_the_postponement(seed_index: Path) -> None:
    history = ["When is Blinken visiting China?"]
    passages = qa.retrieve("Why was it postponed before?", k=3, index=seed_index, history=history)
    assert "postponing his visit to China" in passages[0].text


def test_self_contained_question_ignores_history(seed_index: Path) -> None:
    assert not needs_context("How much did the Russian central bank raise interest rates?")
    assert needs_context("Why was it postponed?")
    question = "How much did the Russian central bank raise interest rates?"
    alone = qa.retrieve(question, k=5, index=seed_index)
    after = qa.retrieve(
        question, k=5, index=seed_index, history=["How many users does Threads have?"]
    )
    assert alone == after
    assert Query.for_turn(question, ["Threads?"]).lexical_text == question


def test_near_duplicates_are_returned_once(tmp_path: Path) -> None:
    body = "The central bank raised its key rate by 350 basis points to 12 percent on Tuesday."
    corpus = tmp_path / "dup.jsonl"
    rows = [
        {"title": "Rates", "text": body},
        {"title": "Rates again", "text": body + " "},
        {"title": "Markets", "text": "Stocks in Moscow fell after the decision on rates."},
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    qa.build_index([corpus], index=tmp_path / "i")
    passages = qa.retrieve("rate rise basis points", k=3, index=tmp_path / "i")
    assert sum(p.text.strip() == body for p in passages) == 1
    assert len(passages) == 2
    assert near_duplicates("Breaking: Rates up", "rates up")
    assert drop_near_duplicates(["a b c", "x y z", "A B C!"], str) == ["a b c", "x y z"]


def test_bad_filter_values_are_clear_errors(seed_index: Path) -> None:
    with pytest.raises(InputError, match="date_from must be an ISO date"):
        qa.retrieve("rates", index=seed_index, date_from="last week")
    with pytest.raises(InputError, match="mode must be one of"):
        qa.retrieve("rates", index=seed_index, mode="magic")


def test_ask_json_has_answered_and_history(
    seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "ask",
        "Why was it postponed before?",
        "--history",
        "When is Blinken visiting China?",
        "-k",
        "2",
        "--index",
        str(seed_index),
        "--json",
    ]
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["answered"] is True and payload["reason"]
    assert "postponing" in payload["passages"][0]["text"]
    assert all(isinstance(span, list) for span in payload["passages"][0]["highlights"])


def test_eval_since_keeps_the_dated_queries_from_that_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RealTimeQA's 2020-2021 quizzes may train a model only if figures are reported on its
    2022 quizzes: --since chooses them by the queries' own dates ("2021/12/31" style)."""
    folder = tmp_path / "quiz"
    folder.mkdir()
    docs = {"d1": "The bridge over the Tam opened in 2021.", "d2": "The ferry sails at noon."}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": "", "text": t}) + "\n" for i, t in docs.items())
    )
    queries = [
        ("q1", "When did the bridge open?", "2021/12/31", "d1"),
        ("q2", "When does the ferry sail?", "2022/01/07", "d2"),
        ("q3", "What opened over the Tam?", "2022/02/04", "d1"),
    ]
    (folder / "queries.jsonl").write_text(
        "".join(
            json.dumps({"_id": q, "text": text, "metadata": {"date": day}}) + "\n"
            for q, text, day, _ in queries
        )
    )
    (folder / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, _, _, d in queries)
    )
    assert main(["eval", str(folder), "--since", "2022-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["queries"] == 2
    assert main(["eval", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["queries"] == 3
    assert main(["eval", str(folder), "--since", "2022-13-01"]) == 2
    assert "2022-13-01" in capsys.readouterr().err
