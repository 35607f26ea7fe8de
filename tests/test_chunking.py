from qa.ingest.chunking import window_spans
from qa.ingest.sentences import sentence_spans


def test_sentence_splitter_keeps_abbreviations_and_numbers_whole() -> None:
    text = "The U.S. said EG.5 cases rose 8.5% in Aug. 2023. Dr. Lee agreed. Did it?"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "The U.S. said EG.5 cases rose 8.5% in Aug. 2023.",
        "Dr. Lee agreed.",
        "Did it?",
    ]


def test_short_paragraph_is_one_window(encoder) -> None:  # type: ignore[no-untyped-def]
    text = "A short paragraph."
    assert window_spans(text, 254, encoder.count_tokens, encoder.token_offsets) == [(0, len(text))]


def test_long_paragraph_windows_fit_budget_cover_text_and_overlap(encoder) -> None:  # type: ignore[no-untyped-def]
    sentences = [
        f"Sentence number {i} reports that the index grew by {i}.5% in week {i}." for i in range(60)
    ]
    text = " ".join(sentences)
    budget = 64
    spans = window_spans(text, budget, encoder.count_tokens, encoder.token_offsets)
    assert len(spans) > 3
    assert all(count <= budget for count in encoder.count_tokens([text[s:e] for s, e in spans]))
    covered = [False] * len(text)
    for start, end in spans:
        for i in range(start, end):
            covered[i] = True
    assert all(covered[i] for i, char in enumerate(text) if not char.isspace())
    assert all(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))  # overlap


def test_one_giant_sentence_is_split_by_word_pieces(encoder) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(f"word{i}" for i in range(3000))
    spans = window_spans(text, 100, encoder.count_tokens, encoder.token_offsets)
    assert all(c <= 100 for c in encoder.count_tokens([text[s:e] for s, e in spans]))
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_very_long_text_is_split_in_pieces_without_cutting_sentences() -> None:
    text = " ".join(f"Sentence {i} says the U.S. grew 8.5% today." for i in range(3000))
    spans = sentence_spans(text)
    assert len(spans) == 3000
    assert all(text[s:e].startswith("Sentence") and text[s:e].endswith("today.") for s, e in spans)


def test_without_overlap_windows_tile_the_text_in_fewer_word_pieces(encoder) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(
        f"Sentence number {i} reports that the index grew by {i}.5% in week {i}." for i in range(60)
    )
    count, offsets = encoder.count_tokens, encoder.token_offsets
    tiled = window_spans(text, 64, count, offsets, overlap=False)
    overlapping = window_spans(text, 64, count, offsets)
    assert all(n <= 64 for n in count([text[s:e] for s, e in tiled]))
    assert all(tiled[i + 1][0] >= tiled[i][1] for i in range(len(tiled) - 1))  # no overlap
    assert text[tiled[0][0] :].strip() and tiled[0][0] == 0 and tiled[-1][1] == len(text)
    gaps = [text[tiled[i][1] : tiled[i + 1][0]] for i in range(len(tiled) - 1)]
    assert all(not gap.strip() for gap in gaps)  # every word is in a window
    assert sum(count([text[s:e] for s, e in tiled])) < sum(
        count([text[s:e] for s, e in overlapping])
    )
