"""Training questions for what Byline fits (``scripts/fit_*.py``), drawn from
``../shared/train`` and never from the evaluation sets.

SQuAD 1.1 train comes in two shapes, as the evaluation sets do:

- as passages: each paragraph one document (the shape of SQuAD2-dev), the other paragraphs of
  its article the natural "same topic, no answer" rivals;
- as stories: each article one document cut into its paragraphs, titled (the shape of a news
  archive), where the paragraph that answers often lacks the words of the title;
- as news stories: the same, each paragraph cut further into pieces of at most
  ``NEWS_SENTENCES`` sentences, as news paragraphs are (Wikipedia's run to five or more), and
  opened by a dateline paragraph ("SICHUAN —"), which holds no answer but, embedded with the
  headline as every paragraph is, scores like the headline itself.

With ``held_out``, a share of the sampled paragraphs is left out of the archive, and the
questions about them whose answer the archive holds nowhere else are written beside the BEIR
files (``HELD_OUT_FILE``, no qrels): questions on the archive's own topics that it cannot
answer, for the "answered" model (``scripts/fit_no_answer.py``).

Samples are seeded and written as BEIR folders under the data folder, never in the repository.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

from qa.eval.beir import read_jsonl
from qa.eval.evaluation import answer_in_quote, normalise_answer
from qa.ingest.sentences import sentence_spans
from qa.settings import Settings

SEED = 20261206
NEWS_SENTENCES = 2
# "a000p000q00": article 000, paragraph 000, question 00.
_PARAGRAPH_ID = len("a000p000")
_ARTICLE_ID = len("a000")
HELD_OUT_FILE = "held_out.jsonl"


def _write(folder: Path, corpus: list[dict[str, object]], queries: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in corpus)
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in queries)


def _news_paragraphs(text: str) -> str:
    spans = sentence_spans(text)
    pieces = [
        text[spans[first][0] : spans[min(first + NEWS_SENTENCES, len(spans)) - 1][1]]
        for first in range(0, len(spans), NEWS_SENTENCES)
    ]
    return "\n\n".join(piece.strip() for piece in pieces if piece.strip()) or text


def _dateline(title: str) -> str:
    words = title.replace("_", " ").split()
    place = next((word for word in words if word[:1].isupper()), words[0] if words else "")
    return f"{place.upper()} —"


def squad_sample(
    train: Path,
    articles: int,
    questions: int,
    *,
    as_stories: bool = False,
    news_cut: bool = False,
    seed: int = SEED,
    held_out: float = 0.0,
) -> Path:
    """A BEIR folder of ``articles`` sampled articles of SQuAD 1.1 train (every paragraph of
    them, less a ``held_out`` share) and ``questions`` sampled questions about them, in one of
    the three shapes of the module docstring."""
    if not 0.0 <= held_out < 1.0:
        raise ValueError(f"held_out={held_out}: give a share of paragraphs from 0 up to 1")
    rng = random.Random(seed)
    corpus = read_jsonl(train / "corpus.jsonl")
    titles = sorted({str(row["title"]) for row in corpus})
    chosen = set(rng.sample(titles, min(articles, len(titles))))
    rows = [row for row in corpus if row["title"] in chosen]
    ids = {str(row["_id"]) for row in rows}
    asked = [
        row for row in read_jsonl(train / "queries.jsonl") if str(row["_id"])[:_PARAGRAPH_ID] in ids
    ]
    asked = rng.sample(asked, min(questions, len(asked)))
    shape = ("news-stories" if news_cut else "stories") if as_stories else "passages"
    name = f"squad1.1-{shape}-{articles}a-{questions}q-{seed}"
    unanswerable: list[dict[str, object]] = []
    if held_out:
        name += f"-held{round(held_out * 100)}"
        left_out = set(rng.sample(sorted(ids), round(held_out * len(ids))))
        rows = [row for row in rows if row["_id"] not in left_out]
        kept_text = " ".join(normalise_answer(str(row["text"])) for row in rows)
        unanswerable = [
            row
            for row in asked
            if str(row["_id"])[:_PARAGRAPH_ID] in left_out
            and not answer_in_quote(kept_text, _answer_texts(row))
        ]
        asked = [row for row in asked if str(row["_id"])[:_PARAGRAPH_ID] not in left_out]
    folder = Settings.resolve().home / "train" / name
    gold_length = _ARTICLE_ID if as_stories else _PARAGRAPH_ID
    if as_stories:
        paragraphs: defaultdict[str, list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            paragraphs[str(row["_id"])[:_ARTICLE_ID]].append(row)
        rows = [
            {
                "_id": article,
                "title": str(parts[0]["title"]).replace("_", " "),
                "text": "\n\n".join(
                    ([_dateline(str(parts[0]["title"]))] if news_cut else [])
                    + [
                        _news_paragraphs(str(part["text"])) if news_cut else str(part["text"])
                        for part in parts
                    ]
                ),
            }
            for article, parts in paragraphs.items()
        ]
    _write(folder, rows, asked)
    if held_out:
        with (folder / HELD_OUT_FILE).open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in unanswerable)
    with (folder / "qrels.tsv").open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        out.writelines(f"{row['_id']}\t{str(row['_id'])[:gold_length]}\t1\n" for row in asked)
    return folder


def _answer_texts(row: dict[str, object]) -> tuple[str, ...]:
    metadata = row.get("metadata")
    found = metadata.get("answers", ()) if isinstance(metadata, dict) else ()
    return tuple(str(answer["text"]) for answer in found if isinstance(answer, dict))
