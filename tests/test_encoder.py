import numpy as np
import pytest

from embeddings.encoder import Encoder, load_encoder
from embeddings.padding import pad_rows, padded_batches


def test_progress_slices_keep_input_order_and_report_often(encoder: Encoder) -> None:
    texts = [f"{'long ' * (i % 7)}text number {i}" for i in range(200)]
    calls: list[tuple[int, int]] = []
    with_progress = encoder.encode(texts, progress=lambda done, total: calls.append((done, total)))
    plain = encoder.encode(texts)
    np.testing.assert_allclose(with_progress, plain, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(plain, axis=1), 1.0, atol=1e-5)
    assert len(calls) >= 4 and calls[-1] == (200, 200)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_padded_batches_bound_rows_and_padded_word_pieces() -> None:
    lengths = [10] * 40 + [200, 120, 30]
    batches = padded_batches(lengths, max_rows=32, max_padded=256)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert batches[0] == [40]  # the longest first, alone: two of it would pass 256
    assert [lengths[batch[0]] for batch in batches] == sorted(
        (lengths[batch[0]] for batch in batches), reverse=True
    )
    for batch in batches:
        assert len(batch) <= 32
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 256
    # Without a bound on word pieces, only the rows cut: 43 texts in batches of 32 and 11.
    assert [len(batch) for batch in padded_batches(lengths, 32, None)] == [32, 11]
    assert padded_batches([], 32, 256) == []


def test_a_long_text_does_not_change_the_short_ones_vectors(encoder: Encoder) -> None:
    # Short texts batched apart from a long one (on a CPU) embed as they do alone.
    long = " ".join(["The minister visited Beijing to discuss trade and security."] * 20)
    texts = [f"Talks resumed on day {n}." for n in range(12)] + [long]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([text])[0] for text in texts])
    assert np.sum(together * alone, axis=1).min() >= 0.9999


def test_counting_a_long_text_logs_no_tokenizer_warning(
    encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    # A build counts every paragraph's word pieces to split the long ones into windows; a
    # warning that "indexing errors" will follow would only alarm the user.
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_propagation()  # its records reach caplog only this way
    try:
        long = "word " * 600
        with caplog.at_level("WARNING"):
            assert encoder.count_tokens([long]) == [600]
            assert len(encoder.token_offsets(long)) == 600
    finally:
        transformers_logging.disable_propagation()
    assert not [r for r in caplog.records if "longer than the specified" in r.getMessage()]


def test_pad_rows_pads_ids_with_the_pad_id_and_masks_with_zero() -> None:
    encoded = {"input_ids": [[101, 7, 102], [101, 102]], "attention_mask": [[1, 1, 1], [1, 1]]}
    right = pad_rows(encoded, [1, 0], pad_id=9, left=False)
    assert right["input_ids"].tolist() == [[101, 102, 9], [101, 7, 102]]
    assert right["attention_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    left = pad_rows(encoded, [1], pad_id=9, left=True)
    assert left["input_ids"].tolist() == [[101, 102]]  # one row: no padding at all
    assert pad_rows(encoded, [0, 1], 9, True)["input_ids"].tolist() == [
        [101, 7, 102],
        [9, 101, 102],
    ]


def test_encode_tokenises_once_and_matches_sentence_transformers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ids that size the batches are the ones the model reads: sentence-transformers'
    own tokenising (preprocess) is not run again, and the vectors are its encode's."""
    from sentence_transformers import SentenceTransformer

    encoder = load_encoder(precision="float32")
    texts = ["Blinken will visit China.", "short", "The central bank raised rates. " * 60]
    expected = encoder._model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)

    def tokenised_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("texts were tokenised a second time")

    monkeypatch.setattr(SentenceTransformer, "preprocess", tokenised_again, raising=False)
    vectors = encoder.encode(texts)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
