"""Byline's speed and memory side by side with txtai on the same machine, model and corpus.

    python -m bench.run --quick        # a few minutes: small corpora, 10k and 100k passages
    python -m bench.run                # the docs/speed.md table: also 1M passages (index cached)
    python bench/run.py --docs 5183    # the whole SciFact corpus as the larger archive
    python -m bench.run --builds-only --isa avx2   # builds alone, as on a CPU without AMX
    python -m bench.run --builds-only --isa native avx512bf16 --corpora squad2-dev \\
        news-archive-2022 --profile   # issue 20: AVX512-BF16 without AMX, stages timed

Every measurement runs in a fresh process, so each peak memory is that job's own. Build
throughput is end to end, from article files to a saved index (model loading included) for
the bundled news archive and for SciFact abstracts (shared/eval/scifact, converted to
Byline's .jsonl article format). The peer is txtai's ``Embeddings`` (faiss backend) with the
same bundled all-MiniLM-L6-v2 folder, fed the same paragraphs with their headlines; txtai is
optional (``pip install txtai``) and its columns are left empty without it. Query latency at
10k, 100k and 1M passages goes through ``qa.search.retrieval.Retriever`` over real embeddings grown
with noisy copies (bench/common.py); those indexes are cached under $BYLINE_BENCH_CACHE
(default /tmp/byline-bench-cache) because building 1M takes long.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import EVAL, REPO, beir_to_articles, cache_dir, machine, read_jsonl

NEWS = REPO / "qa" / "data" / "news_articles.txt"

# CPUs without AMX, emulated on one that has it: torch's oneDNN kernels are capped (and for
# avx2 MKL's too; embeddings.encoder.usable_cpu_flags sees the cap). avx512bf16 is a CPU with
# AVX512-BF16 and no AMX (an AMD EPYC Zen 4, say): oneDNN's bf16 matmuls run its
# avx512_core_bf16 kernels (ONEDNN_VERBOSE=1 names them), fp32 ones MKL's AVX-512, which
# uses no AMX anyway. An emulation of the instructions, not of another core's speed at them.
# ONNX Runtime and faiss choose their kernels themselves and are not capped.
ISA_CAPS = {
    "native": {},
    "avx512bf16": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
}
CORPORA = ("news", "scifact", "squad2-dev", "news-archive-2022")


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("BYLINE_HOME", str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def job(env: dict[str, str], name: str, **arguments: Any) -> dict[str, Any]:
    """Run one bench.workers job in a fresh process; its JSON result."""
    command = [sys.executable, "-m", "bench.workers", name, json.dumps(arguments)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _builds(
    env: dict[str, str], corpus: Path, work: Path, repeats: int, peer: bool, profile: bool = False
) -> dict:
    """Median build time of each system over ``repeats`` runs, alternating who goes first;
    ``profile``: Byline's stages timed in every run, their medians kept."""
    runs: dict[str, list[dict[str, Any]]] = {"byline": [], "txtai": []}
    systems = ["byline", "txtai"] if peer else ["byline"]
    for attempt in range(repeats):
        order = systems if attempt % 2 == 0 else systems[::-1]
        for system in order:
            target = work / f"{system}-{corpus.stem}-{attempt}"
            result = job(
                env, f"{system}_build", corpus=str(corpus), index=str(target), profile=profile
            )
            result["index"] = str(target)
            _log(f"{system} build {corpus.name} #{attempt + 1}: {result['seconds']:.1f} s")
            runs[system].append(result)
    summary = {}
    for system, results in runs.items():
        if results:
            seconds = statistics.median(r["seconds"] for r in results)
            summary[system] = {
                "precision": results[0].get("precision"),
                "seconds": seconds,
                "paragraphs": results[0]["paragraphs"],
                "per_second": results[0]["paragraphs"] / seconds,
                "windows": results[0].get("windows"),
                "peak_mib": max(r["peak_mib"] for r in results),
                "index": results[0]["index"],
                "runs": [round(r["seconds"], 2) for r in results],
                "imports": statistics.median(r["imports"] for r in results),
            }
            if results[0].get("stages"):
                summary[system]["stages"] = {
                    stage: statistics.median(r["stages"][stage] for r in results)
                    for stage in results[0]["stages"]
                }
    return summary


def _scale_folder(rows: int) -> Path:
    from embeddings import index

    signature = (
        f"{index.EXACT_BELOW}-ivf-{index.IVF_CELLS_PER_SQRT}-{index.IVF_TRAIN_PER_CELL}-"
        f"{index.IVF_NPROBE}"
    )
    return cache_dir() / f"scale-{rows}-{signature}"


def _scale(env: dict[str, str], rows: int, news_index: str, questions: list[str]) -> dict:
    from filelock import FileLock

    folder = _scale_folder(rows)
    record = folder / "build.json"
    # One builder per size at a time: a second run waits for the first's index.
    with FileLock(str(folder.parent / f"{folder.name}.lock")):
        if record.is_file():
            built = json.loads(record.read_text())
            built["cached"] = True
        else:
            _log(f"building the {rows:,}-passage index (cached for later runs)")
            built = job(env, "scale_build", rows=rows, folder=str(folder))
            record.write_text(json.dumps(built))
            built["cached"] = False
    _log(f"{rows:,} passages: {built['kind']} index, recall@10 {built['recall10']:.3f}")
    served = job(
        env,
        "scale_serve",
        rows=rows,
        folder=str(folder),
        news_index=news_index,
        questions=questions,
    )
    return {**built, **{f"serve_{key}": value for key, value in served.items()}}


def _corpora(work: Path, chosen: Sequence[str], docs: int, stories: int | None) -> dict[str, Path]:
    """The build corpora asked for, by their table names, as article files under ``work``."""
    corpora = {}
    for name in chosen:
        if name == "news":
            corpora["news archive"] = NEWS
            continue
        limit = docs if name == "scifact" else stories if name == "news-archive-2022" else None
        target = work / f"{name}.jsonl"
        written = beir_to_articles(EVAL / name / "corpus.jsonl", target, limit)
        label = {"scifact": f"SciFact {written:,} docs", "squad2-dev": "SQuAD2-dev"}.get(
            name, f"news-archive-2022, {written:,} stories"
        )
        corpora[label] = target
    return corpora


def _label(corpus: str, isa: str) -> str:
    return corpus if isa == "native" else f"{corpus}, {isa.upper()} emulation"


def _ratio(mine: float | None, theirs: float | None, higher_is_better: bool) -> str:
    if not mine or not theirs:
        return ""
    return f"{(mine / theirs) if higher_is_better else (theirs / mine):.2f}x"


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (ratios: how many times better Byline is)."""
    lines = [
        f"Machine: {results['machine']}",
        f"Model: bundled all-MiniLM-L6-v2, Byline precision {results['precision']}; "
        f"medians of {results['repeats']} runs; load average at end {results['load_end']:.1f}",
        "Builds under: "
        + "; ".join(
            f"{isa} ({' '.join(f'{k}={v}' for k, v in ISA_CAPS[isa].items()) or 'all kernels'})"
            for isa in results.get("isas", ["native"])
        ),
        "",
        "| measure | Byline | txtai | Byline vs txtai |",
        "|---|---|---|---|",
    ]
    for name, builds in results["builds"].items():
        mine, theirs = builds.get("byline"), builds.get("txtai")
        paragraphs = mine["paragraphs"]
        windows = f", {mine['windows']:,} windows" if mine.get("windows") else ""
        lines.append(
            f"| build {name} ({paragraphs:,} paragraphs{windows}; Byline "
            f"{mine.get('precision') or '?'}), paragraphs/s | "
            f"{mine['per_second']:.1f} ({mine['seconds']:.1f} s) | "
            + (f"{theirs['per_second']:.1f} ({theirs['seconds']:.1f} s)" if theirs else "")
            + f" | {_ratio(mine['per_second'], theirs and theirs['per_second'], True)} |"
        )
        lines.append(
            f"| build {name}, peak memory MiB | {mine['peak_mib']:.0f} | "
            + (f"{theirs['peak_mib']:.0f}" if theirs else "")
            + f" | {_ratio(mine['peak_mib'], theirs and theirs['peak_mib'], False)} |"
        )
    for name, serve in results["serve"].items():
        mine, theirs = serve.get("byline"), serve.get("txtai")
        lines.append(
            f"| query {name} index, p50 / p95 ms (Byline: hybrid default) | "
            f"{mine['p50']:.1f} / {mine['p95']:.1f} | "
            + (f"{theirs['p50']:.1f} / {theirs['p95']:.1f}" if theirs else "")
            + f" | {_ratio(mine['p50'], theirs and theirs['p50'], False)} |"
        )
        lines.append(
            f"| serving process on {name} index, peak memory MiB | {mine['peak_mib']:.0f} | "
            + (f"{theirs['peak_mib']:.0f}" if theirs else "")
            + f" | {_ratio(mine['peak_mib'], theirs and theirs['peak_mib'], False)} |"
        )
    for scale in results["scale"]:
        rows = scale["rows"]
        lines.append(
            f"| retrieve() at {rows:,} passages ({scale['kind']}, dense), p50 / p95 ms | "
            f"{scale['serve_p50']:.1f} / {scale['serve_p95']:.1f} (query encoding "
            f"{scale['serve_encode_p50']:.1f}, index search k=400 "
            f"{scale['serve_search400_p50']:.2f})"
            " | | |"
        )
        lines.append(
            f"| {rows:,} passages: recall@10 vs exact (k=10; top 10 of k=400); index build s; "
            f"file MiB; serving MiB | {scale.get('serve_recall10', scale['recall10']):.3f}; "
            f"{scale.get('serve_recall10_of_400', float('nan')):.3f}; {scale['build_seconds']:.0f}"
            f"{' (cached)' if scale['cached'] else ''}; {scale['disk_mib']:.0f}; "
            f"{scale['serve_peak_mib']:.0f} | | |"
        )
    return "\n".join(lines)


def stage_table(results: dict[str, Any]) -> str:
    """Byline's build time by stage (medians over the runs), one column per build, beside
    txtai's whole build."""
    builds = {name: b for name, b in results["builds"].items() if "stages" in b.get("byline", {})}
    names = list(builds)
    lines = [
        "Byline build by stage, seconds (share of the build); imports are not in either total",
        "",
        "| stage | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    stages = list(next(iter(builds.values()))["byline"]["stages"])
    for stage in stages:
        cells = []
        for name in names:
            mine = builds[name]["byline"]
            seconds = mine["stages"][stage]
            cells.append(f"{seconds:.2f} ({100 * seconds / mine['seconds']:.1f}%)")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    rows = [
        ("Byline build total", lambda b: f"{b['byline']['seconds']:.1f}"),
        ("start-up imports (once per process)", lambda b: f"{b['byline']['imports']:.1f}"),
        ("txtai build total", lambda b: f"{b['txtai']['seconds']:.1f}" if "txtai" in b else ""),
        (
            "Byline vs txtai",
            lambda b: (
                _ratio(b["txtai"]["seconds"], b["byline"]["seconds"], True) if "txtai" in b else ""
            ),
        ),
    ]
    for label, cell in rows:
        lines.append(f"| **{label}** | " + " | ".join(cell(builds[n]) for n in names) + " |")
    return "\n".join(lines)


def run(
    quick: bool,
    docs: int | None,
    repeats: int | None,
    sizes: Sequence[int] | None,
    peer: bool,
    isas: Sequence[str] = ("native", "avx2"),
    builds_only: bool = False,
    chosen: Sequence[str] = ("news", "scifact"),
    stories: int | None = None,
    profile: bool = False,
) -> dict[str, Any]:
    if not builds_only and not {"news", "scifact"} <= set(chosen):
        raise SystemExit("serving and scale figures need --corpora news scifact (or --builds-only)")
    docs = docs or (100 if quick else 300)
    repeats = repeats or (2 if quick else 3)
    sizes = sizes or ((10_000, 100_000) if quick else (10_000, 100_000, 1_000_000))
    if peer and importlib.util.find_spec("txtai") is None:
        _log("txtai is not installed (pip install txtai): measuring Byline alone")
        peer = False
    results: dict[str, Any] = {"machine": machine(), "repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="byline-bench-") as temporary:
        work = Path(temporary)
        env = _environment(work / "home")
        corpora = _corpora(work, chosen, docs, stories)
        results["builds"] = {}
        for isa in isas:
            capped = {**env, **ISA_CAPS[isa]}
            for name, corpus in corpora.items():
                _log(f"builds of {name}, {isa}")
                results["builds"][_label(name, isa)] = _builds(
                    capped, corpus, work / isa, repeats, peer, profile
                )
        results["isas"] = list(isas)
        if builds_only:
            results["serve"], results["scale"], results["precision"] = {}, [], "see builds"
            results["load_end"] = os.getloadavg()[0]
            return results
        count = 20 if quick else 50
        claims = [q["text"] for q in read_jsonl(EVAL / "scifact" / "queries.jsonl")][:count]
        news_questions = [
            q["text"] for q in read_jsonl(EVAL / "multihop-rag-news" / "queries.jsonl")
        ][:count]
        scifact = next(name for name in corpora if name.startswith("SciFact"))
        science = results["builds"][_label(scifact, isas[0])]
        results["serve"] = {scifact: {}}
        for system, build in science.items():
            served = job(env, f"{system}_serve", index=build["index"], questions=claims)
            _log(f"{system} serve: p50 {served['p50']:.1f} ms")
            results["serve"][scifact][system] = served
        news_index = results["builds"][_label("news archive", isas[0])]["byline"]["index"]
        results["scale"] = [_scale(env, rows, news_index, news_questions) for rows in sizes]
        results["precision"] = results["scale"][0]["serve_precision"] if sizes else "?"
    # The fast-answer figures (bench/speed.py), each against its own baseline.
    from bench import speed

    results["speed"] = speed.run([], max(sizes, default=100_000), 4)
    results["load_end"] = os.getloadavg()[0]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python -m bench.run --quick --json /tmp/bench.json",
    )
    parser.add_argument("--quick", action="store_true", help="small corpora, 10k and 100k only")
    parser.add_argument("--docs", type=int, help="SciFact documents to index (e.g. 5183 = all)")
    parser.add_argument("--repeats", type=int, help="runs per build; the median is reported")
    parser.add_argument("--sizes", type=int, nargs="+", help="passage counts, e.g. 10000 100000")
    parser.add_argument("--no-peer", action="store_true", help="measure Byline alone")
    parser.add_argument(
        "--isa",
        nargs="+",
        choices=sorted(ISA_CAPS),
        default=["native", "avx2"],
        help="CPU kernels to build under: native, and/or avx2 (torch capped at AVX2, "
        "emulating a CPU without AMX/AVX512-BF16), e.g. --isa avx2",
    )
    parser.add_argument(
        "--builds-only", action="store_true", help="only the build figures (no serving, scale)"
    )
    parser.add_argument(
        "--corpora",
        nargs="+",
        choices=CORPORA,
        default=["news", "scifact"],
        help="what to build: the bundled news archive, SciFact (--docs), SQuAD2-dev (1,216 "
        "paragraphs), news-archive-2022 (--stories); e.g. --corpora squad2-dev news-archive-2022",
    )
    parser.add_argument(
        "--stories", type=int, help="news-archive-2022 stories to index (default all 709)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="time Byline's build by stage (bench/stages.py) and print the stage table",
    )
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    results = run(
        args.quick,
        args.docs,
        args.repeats,
        args.sizes,
        not args.no_peer,
        args.isa,
        args.builds_only,
        args.corpora,
        args.stories,
        args.profile,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(table(results))
    if any("stages" in builds.get("byline", {}) for builds in results["builds"].values()):
        print()
        print(stage_table(results))
    if results.get("speed"):
        from bench import speed

        print()
        print(speed.table(results["speed"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
