"""The ONNX query encoder: same vectors as torch, same answers, exported once, and a torch
fallback with a note where ONNX cannot be used."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder
from embeddings.errors import ModelLoadError
from embeddings.onnx_encoder import OnnxEncoder, load_query_encoder, resolve_backend
from embeddings.onnx_export import META_FILE
from tests.conftest import SEED_CORPUS, SHARED

MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def onnx_encoder(models_dir: Path) -> Encoder:
    encoder = load_query_encoder(None, backend="onnx", models_dir=models_dir)
    assert isinstance(encoder, OnnxEncoder)
    return encoder


def _shared_questions(limit: int) -> list[str]:
    questions: list[str] = []
    files = sorted((SHARED / "eval").glob("*/queries.jsonl"))
    per_file = -(-limit // max(1, len(files)))
    for path in files:
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line)["text"] for line in handle if line.strip()]
        questions += rows[:per_file]
    return questions[:limit]


@pytest.mark.skipif(not (SHARED / "eval").is_dir(), reason="no shared eval data")
def test_questions_embed_like_torch(encoder: Encoder, onnx_encoder: Encoder) -> None:
    questions = _shared_questions(200)
    assert len(questions) >= 100
    expected = np.stack([encoder.encode_query(q) for q in questions])
    got = np.stack([onnx_encoder.encode_query(q) for q in questions])
    cosines = np.sum(expected * got, axis=1)
    assert cosines.min() >= MIN_COSINE, questions[int(cosines.argmin())]
    assert got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_sentence_batches_embed_like_torch(encoder: Encoder, onnx_encoder: Encoder) -> None:
    # Highlighting embeds a passage's sentences as one padded batch of mixed lengths.
    sentences = [
        s.strip() for s in SEED_CORPUS.read_text(encoding="utf-8").split(".") if s.strip()
    ][:150]
    cosines = np.sum(encoder.encode(sentences) * onnx_encoder.encode(sentences), axis=1)
    assert cosines.min() >= MIN_COSINE
    assert onnx_encoder.encode([]).shape == (0, onnx_encoder.dimension)


def test_batching_leaves_the_vectors_as_if_embedded_alone(onnx_encoder: Encoder) -> None:
    # One long text among short ones, so that the short ones are batched apart from it.
    long = " ".join(["The minister visited Beijing to discuss trade and security."] * 20)
    texts = [f"Talks resumed on day {n}." for n in range(40)] + [long]
    alone = np.stack([onnx_encoder.encode([text])[0] for text in texts])
    assert np.allclose(onnx_encoder.encode(texts), alone, atol=1e-5)


def test_long_text_is_truncated_like_torch(encoder: Encoder, onnx_encoder: Encoder) -> None:
    text = " ".join(["The minister visited Beijing to discuss trade and security."] * 80)
    assert float(encoder.encode_query(text) @ onnx_encoder.encode_query(text)) >= MIN_COSINE


def test_token_counts_match_torch(encoder: Encoder, onnx_encoder: Encoder) -> None:
    texts = ["Antony Blinken's visit to China", "EG.5 variant", ""]
    assert onnx_encoder.count_tokens(texts) == encoder.count_tokens(texts)
    assert onnx_encoder.token_offsets(texts[0]) == encoder.token_offsets(texts[0])


def test_same_answers_as_torch(seed_index: Path, encoder: Encoder, onnx_encoder: Encoder) -> None:
    from qa.index.store import LoadedIndex
    from qa.search.retrieval import Filters, Retriever

    loaded = LoadedIndex.load(seed_index)
    torch_side, onnx_side = Retriever(loaded, encoder), Retriever(loaded, onnx_encoder)
    for question in (
        "When will Antony Blinken visit China?",
        "What did the WHO say about the EG.5 variant?",
        "How fast did Threads reach 100 million users?",
        "Why did the US defense secretary visit India?",
    ):
        for filters in (Filters(), Filters(date_from="2023-07-01")):
            want = [(p.article_id, p.paragraph) for p in torch_side.retrieve(question, 5, filters)]
            got = [(p.article_id, p.paragraph) for p in onnx_side.retrieve(question, 5, filters)]
            assert got == want, question


def test_export_is_made_once_and_reused(models_dir: Path, onnx_encoder: Encoder) -> None:
    (folder,) = [p for p in models_dir.iterdir() if (p / META_FILE).is_file()]
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    from embeddings.onnx_encoder import _load_onnx

    _load_onnx.cache_clear()
    again = load_query_encoder(None, backend="auto", models_dir=models_dir)
    assert isinstance(again, OnnxEncoder)
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".export-")]


def test_torch_backend_is_the_torch_encoder(models_dir: Path) -> None:
    encoder = load_query_encoder(None, backend="torch", models_dir=models_dir)
    assert not isinstance(encoder, OnnxEncoder)


def test_missing_onnxruntime_falls_back_to_torch_with_a_note(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from embeddings.onnx_encoder import _load_onnx

    _load_onnx.cache_clear()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    with caplog.at_level(logging.WARNING):
        encoder = load_query_encoder(None, backend="auto", models_dir=models_dir)
    assert not isinstance(encoder, OnnxEncoder)
    assert "questions are encoded with torch" in caplog.text
    with pytest.raises(ModelLoadError, match="needs onnxruntime"):
        load_query_encoder(None, backend="onnx", models_dir=models_dir)
    _load_onnx.cache_clear()


def test_failed_export_falls_back_to_torch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-model"
    missing.mkdir()  # a folder that is no model: the export cannot load it
    with caplog.at_level(logging.WARNING), pytest.raises(ModelLoadError):
        # torch cannot load it either, so the fallback fails too, with torch's message.
        load_query_encoder(str(missing), backend="auto", models_dir=tmp_path / "models")
    assert "cannot export" in caplog.text
    with pytest.raises(ModelLoadError, match="cannot export"):
        load_query_encoder(str(missing), backend="onnx", models_dir=tmp_path / "models")


def test_unknown_backend_names_the_value_and_choices() -> None:
    assert resolve_backend(None) == "auto"
    with pytest.raises(ModelLoadError, match=r"one of auto, torch, onnx, got 'tensorrt'"):
        resolve_backend("tensorrt")
