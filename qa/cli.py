"""The ``byline`` command line: build, ask, articles (and eval). ``main`` returns the exit code:
0 ok, 1 an error (message on stderr), 2 bad flags."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date

from qa.errors import BylineError
from qa.records import Passage

Handler = Callable[[argparse.Namespace], int]


def citation(passage: Passage) -> str:
    """``[n] Headline — section, ¶p (date)``: the citation line people read."""
    place = (
        f"{passage.section}, ¶{passage.paragraph}" if passage.section else f"¶{passage.paragraph}"
    )
    date = f" ({passage.published})" if passage.published else ""
    return f"[{passage.rank}] {passage.title} — {place}{date}"


def _print_passages(passages: Sequence[Passage]) -> None:
    for passage in passages:
        print(citation(passage))
        print(textwrap.indent(textwrap.fill(passage.text, width=96), "    "))
        print(f"    score {passage.score:.3f} · {passage.source} [{passage.start}:{passage.end}]")
        print()


def _cmd_build(args: argparse.Namespace) -> int:
    from embeddings.priority import lower_process_priority
    from qa.index.build import build_index
    from qa.settings import Settings

    # This process only builds: below a running `byline serve`, which then answers first.
    lower_process_priority(Settings.resolve(index=args.index).build_nice)
    report = build_index(
        args.paths,
        index=args.index,
        model=args.model,
        device=args.device,
        full=args.full,
        progress=sys.stderr.isatty() and not args.json,
        lock_timeout=args.wait,
        store=args.store,
        workers=args.workers,
    )
    for warning in report.skipped:
        print(f"warning: {warning}", file=sys.stderr)
    if report.full_rebuild_reason:
        print(f"note: {report.full_rebuild_reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(
            f"indexed {report.articles} articles, {report.paragraphs} paragraphs "
            f"({report.embedded} windows embedded, {report.reused} reused, {report.removed} "
            f"removed) in {report.seconds:.1f}s into {report.index}"
        )
        for kind in report.formats:
            skipped = ", ".join(f"{count} {why}" for why, count in kind.skipped)
            print(
                f"  {kind.kind}: {kind.files} file(s), {kind.articles} article(s), "
                f"{kind.undated} without a date" + (f"; skipped: {skipped}" if skipped else "")
            )
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from qa.reply.answering import answer

    result = answer(
        args.question,
        args.k,
        index=args.index,
        history=args.history,
        article_id=args.article,
        date_from=args.date_from,
        date_to=args.date_to,
        mode=args.mode,
        as_of=args.as_of,
        infer_dates=not args.no_time_words,
        store=args.store,
    )
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    if result.date_range is not None and result.date_range.empty:
        print(f"{result.date_range.fallback_note()}\n")
    elif result.date_range is not None:
        print(f"Searched {result.date_range.describe()}.\n")
    if not result.answered:
        print(f"Nothing in the archive answers this ({result.reason}). Nearest passages, weak:\n")
    elif result.quote_text:
        # The first line is the answer a person reads, as the chat opens its reply.
        print(f"“{' '.join(result.quote_text.split())}” [1]\n")
    _print_passages(result.passages)
    return 0


def _cmd_articles(args: argparse.Namespace) -> int:
    from qa.api import list_articles

    articles = list_articles(args.index, store=args.store)
    if args.json:
        print(json.dumps([asdict(article) for article in articles], ensure_ascii=False))
        return 0
    for article in articles:
        date = article.published or "no date"
        print(f"{article.article_id}  {date:10}  {article.paragraphs:4} ¶  {article.title}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from qa.eval.evaluation import evaluate

    modes = ["dense", "bm25", "hybrid"] if args.mode == "all" else [args.mode]
    for mode in modes:
        result = evaluate(
            args.dataset,
            mode=mode,
            model=args.model,
            limit=args.limit,
            cutoffs=tuple(sorted(set(args.k))),
            progress=sys.stderr.isatty(),
            store=args.store,
            since=args.since,
        )
        if args.json:
            print(json.dumps(result.to_dict()))
        else:
            figures = "  ".join(f"{name} {value:.3f}" for name, value in result.metrics.items())
            size = f"{result.queries} queries, {result.corpus} docs"
            print(f"{result.dataset} ({size}) {mode}: {figures}")
    return 0


def positive_int(value: str, example: str | None = None) -> int:
    """An argparse type: a whole number >= 1 (``example`` is added to the error as a hint)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        hint = f"; e.g. {example}" if example else ""
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {number}{hint}")
    return number


def iso_date(value: str) -> str:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2022-01-01, got {value!r}"
        ) from None


def _add_index_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        metavar="DIR",
        help="index folder (default: $BYLINE_INDEX or the per-user default index), "
        "e.g. --index ./my-index",
    )


def _parsed_by(parse: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type that keeps the value ``parse`` accepts; what it refuses is a bad
    flag (exit 2), with its message."""
    from embeddings.errors import EmbeddingsError

    def check(value: str) -> str:
        try:
            parse(value)
        except EmbeddingsError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    return check


def _store_value(value: str) -> str:
    from embeddings.stores.base import parse_store

    return _parsed_by(parse_store)(value)


def _workers_value(value: str) -> str:
    from embeddings.ray_embed import parse_workers

    return _parsed_by(parse_workers)(value)


def add_store_option(parser: argparse.ArgumentParser, building: bool = False) -> None:
    what = (
        "where the vectors go"
        if building
        else "where the vectors are served from (default: where the index was built into)"
    )
    parser.add_argument(
        "--store",
        type=_store_value,
        metavar="STORE",
        help=f"{what}: faiss (the default, in the index folder), milvus://FILE.db (Milvus "
        "Lite, embedded) or http://HOST:19530 (a Milvus server); ?bm25=milvus has Milvus "
        "answer BM25 too (opt-in); also $BYLINE_STORE. e.g. --store milvus://./news.db",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byline",
        description="Answer questions from a news archive with cited, verbatim paragraphs.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build = commands.add_parser(
        "build",
        help="index article files (.txt, .md, .jsonl, .html, RSS/Atom feeds, WARC)",
        description="Index article files. Example: byline build articles/ --index ./idx",
    )
    build.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, folders or feed URLs to index (default: rebuild from the index's own "
        "sources, fetching its feeds again), e.g. articles/ crawl.warc.gz "
        "https://news.example/feed.xml",
    )
    _add_index_option(build)
    build.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="sentence-transformers model name or folder (default: the bundled "
        "all-MiniLM-L6-v2), e.g. --model ./models/bge-small",
    )
    build.add_argument("--device", help="cpu, cuda, mps or auto (default: auto), e.g. --device cpu")
    build.add_argument(
        "--full", action="store_true", help="re-embed everything instead of reusing vectors"
    )
    build.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="seconds to wait for another build to finish (default: 0), e.g. --wait 60",
    )
    add_store_option(build, building=True)
    build.add_argument(
        "--workers",
        type=_workers_value,
        metavar="ray[://ADDRESS]",
        help="embed on Ray: ray (a local Ray, one worker per CPU), ray:2 (two workers) or "
        "ray://HOST:10001 (join a cluster); also $BYLINE_WORKERS (default: this process), "
        "e.g. --workers ray:2",
    )
    build.add_argument("--json", action="store_true", help="print the build report as JSON")
    build.set_defaults(handler=_cmd_build)

    ask = commands.add_parser(
        "ask",
        help="answer a question with cited passages",
        description='Example: byline ask "When will Blinken visit China?" -k 3',
    )
    ask.add_argument("question", help='the question, e.g. "When will Blinken visit China?"')
    ask.add_argument(
        "-k", type=positive_int, default=5, help="number of passages (default: 5), e.g. -k 3"
    )
    _add_index_option(ask)
    ask.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question of the conversation, oldest first (repeatable), "
        'e.g. --history "When is Blinken visiting China?"',
    )
    ask.add_argument("--article", metavar="ID", help="only this article (ids: byline articles)")
    ask.add_argument(
        "--from",
        dest="date_from",
        metavar="DATE",
        help="published on or after, e.g. --from 2023-06-01",
    )
    ask.add_argument(
        "--to", dest="date_to", metavar="DATE", help="published on or before, e.g. --to 2023-12-31"
    )
    ask.add_argument(
        "--as-of",
        dest="as_of",
        metavar="DATE",
        help="the day the question's time words count from (default: today), "
        'e.g. --as-of 2023-07-10 for "last week" = 3-9 July 2023',
    )
    ask.add_argument(
        "--no-time-words",
        action="store_true",
        help='search "last week", "in March 2024" as plain words, with no inferred date range',
    )
    ask.add_argument(
        "--mode",
        choices=["hybrid", "dense", "bm25"],
        default="hybrid",
        help="retrieval mode (default: hybrid), e.g. --mode dense",
    )
    add_store_option(ask)
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(handler=_cmd_ask)

    evaluation = commands.add_parser(
        "eval",
        help="measure retrieval on a BEIR-format dataset",
        description="Recall@k, MRR@10 and nDCG@10 on a BEIR folder (corpus.jsonl, "
        "queries.jsonl, qrels.tsv). Example: byline eval ../shared/eval/scifact --mode all",
    )
    evaluation.add_argument(
        "dataset", metavar="DIR", help="BEIR folder, e.g. ../shared/eval/scifact"
    )
    evaluation.add_argument(
        "--mode",
        choices=["hybrid", "dense", "bm25", "all"],
        default="hybrid",
        help="retrieval mode to measure (default: hybrid), e.g. --mode all",
    )
    evaluation.add_argument(
        "--k",
        type=positive_int,
        nargs="+",
        default=[1, 5, 10, 100],
        metavar="K",
        help="recall cut-offs (default: 1 5 10 100), e.g. --k 1 5",
    )
    evaluation.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="only the first N judged queries (default: all), e.g. --limit 50",
    )
    evaluation.add_argument(
        "--since",
        type=iso_date,
        metavar="DATE",
        help="only queries dated DATE or later (their metadata.date), e.g. --since 2022-01-01 "
        "for RealTimeQA's 2022 quizzes",
    )
    evaluation.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="embedding model (default: bundled), e.g. --model ./m",
    )
    add_store_option(evaluation, building=True)
    evaluation.add_argument("--json", action="store_true", help="print one JSON line per mode")
    evaluation.set_defaults(handler=_cmd_eval)

    articles = commands.add_parser(
        "articles", help="list the indexed articles", description="Example: byline articles --json"
    )
    _add_index_option(articles)
    add_store_option(articles)
    articles.add_argument("--json", action="store_true", help="print the list as JSON")
    articles.set_defaults(handler=_cmd_articles)
    return parser


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse and dispatch; bad flags -> 2, a BylineError -> message on stderr and 1."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed its usage message already
        return int(exit_.code) if isinstance(exit_.code, int) else 2
    try:
        handler: Handler = args.handler
        return handler(args)
    except BylineError as error:
        print(f"byline: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("byline: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
