"""A BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels.tsv) read for evaluation, and
indexed with the real pipeline into a cache keyed by the corpus's content hash."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import CorpusError


@dataclass(frozen=True)
class Dataset:
    name: str
    folder: Path
    doc_ids: tuple[str, ...]  # in corpus order: line n of the converted corpus is doc_ids[n-1]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    # Gold answer strings per query (SQuAD's ``answers``, the news quiz's ``answer``), for
    # answer-in-quote; empty where the dataset has none.
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Each dated query's date (ISO), from its ``metadata.date`` (the news quizzes' week).
    query_dates: dict[str, str] = field(default_factory=dict)

    def only(self, kept: list[str]) -> Dataset:
        """The same dataset with only the queries ``kept``, in that order."""
        return Dataset(
            self.name,
            self.folder,
            self.doc_ids,
            {query: self.queries[query] for query in kept},
            {query: self.qrels[query] for query in kept},
            {query: self.answers[query] for query in kept if query in self.answers},
            {query: self.query_dates[query] for query in kept if query in self.query_dates},
        )

    @property
    def corpus_file(self) -> Path:
        return self.folder / "corpus.jsonl"


def read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise CorpusError(
            f"{path} is missing; a BEIR folder has corpus.jsonl, queries.jsonl, qrels.tsv"
        )
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise CorpusError(f"{path}:{number}: not valid JSON ({error.msg})") from error
    return rows


def load_dataset(
    folder: str | Path, *, qrels_name: str = "qrels.tsv", queries_name: str = "queries.jsonl"
) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder; give a BEIR-format dataset folder")
    corpus = read_jsonl(folder / "corpus.jsonl")
    query_rows = read_jsonl(folder / queries_name)
    queries = {str(row["_id"]): str(row["text"]) for row in query_rows}
    answers = {str(row["_id"]): _gold_answers(row) for row in query_rows}
    dates = {str(row["_id"]): _query_date(row) for row in query_rows}
    qrels: dict[str, dict[str, int]] = {}
    qrels_path = folder / qrels_name
    if not qrels_path.is_file():
        raise CorpusError(f"{qrels_path} is missing; a BEIR folder has qrels.tsv")
    with qrels_path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            score = int(row["score"])
            if score > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = score
    judged = {query: text for query, text in queries.items() if query in qrels}
    return Dataset(
        name=folder.name,
        folder=folder,
        doc_ids=tuple(str(row["_id"]) for row in corpus),
        queries=judged,
        qrels={query: docs for query, docs in qrels.items() if query in judged},
        answers={query: answers[query] for query in judged if answers[query]},
        query_dates={query: dates[query] for query in judged if dates[query]},
    )


def _query_date(row: dict[str, object]) -> str:
    """The query's date as YYYY-MM-DD ("2020/01/31" in RealTimeQA), or "" when it has none."""
    metadata = row.get("metadata")
    found = metadata.get("date") if isinstance(metadata, dict) else None
    return str(found).strip().replace("/", "-")[:10] if found else ""


def _gold_answers(row: dict[str, object]) -> tuple[str, ...]:
    metadata = row.get("metadata")
    if not isinstance(metadata, dict):
        return ()
    found = metadata.get("answers", metadata.get("answer"))
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        return ()
    # SQuAD's own files give each answer as {"text", "answer_start"}.
    texts = [str(a.get("text", "")) if isinstance(a, dict) else str(a) for a in found]
    # "yes" / "no" (MultiHop-RAG's comparison questions) are verdicts, not strings a quoted
    # sentence can hold.
    return tuple(
        answer for answer in texts if answer.strip() and answer.strip().lower() not in {"yes", "no"}
    )


def corpus_hash(dataset: Dataset) -> str:
    digest = hashlib.sha256()
    with dataset.corpus_file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def write_articles_jsonl(dataset: Dataset, target: Path) -> Path:
    """The corpus in Byline's JSONL article format, one document per line, in corpus order."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for row in read_jsonl(dataset.corpus_file):
            text = str(row.get("text") or "").strip() or str(row.get("title") or "").strip()
            record = {
                "id": str(row["_id"]),
                "title": str(row.get("title") or ""),
                "text": text or "-",
            }
            metadata = row.get("metadata")
            # Whole-story archives carry a date; keeping it lets the date filters work there.
            if isinstance(metadata, dict) and isinstance(metadata.get("published"), str):
                record["published"] = metadata["published"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def doc_of_source(source: str, dataset: Dataset) -> str:
    """The document id of a paragraph whose source is ``path:LINE`` of the converted corpus."""
    line = int(source.rsplit(":", 1)[1])
    return dataset.doc_ids[line - 1]
