"""float32 against bfloat16 for the build's encoder on this CPU (or under an ISA cap), and
what precision="auto" picks here.

    python -m bench.precision --isa avx512bf16 native --texts 300

For each ISA, one fresh process loads both models and embeds the same texts (SQuAD2-dev
paragraphs with their titles, as a build embeds them) in each precision, alternating which
goes first, ``--repeats`` times; it prints the median seconds, the ratio, the lowest cosine
between the two precisions' vectors, and the bf16/float32 matmul time share that "auto"
decides on without AMX (embeddings.encoder.bf16_matmul_time_share).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/precision.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import EVAL, REPO, read_jsonl
from bench.run import ISA_CAPS


def measure(texts: int, repeats: int) -> dict[str, Any]:
    """In this process: both precisions over the same texts, interleaved."""
    import numpy as np

    from embeddings.encoder import bf16_matmul_time_share, load_encoder, resolve_precision

    rows = read_jsonl(EVAL / "squad2-dev" / "corpus.jsonl")[:texts]
    chosen = [f"{row['title']}\n{row['text']}" for row in rows]
    encoders = {p: load_encoder(precision=p) for p in ("float32", "bfloat16")}
    for encoder in encoders.values():
        encoder.encode(chosen[:8])  # the first call builds oneDNN's kernels: not timed
    seconds: dict[str, list[float]] = {p: [] for p in encoders}
    vectors = {}
    for attempt in range(repeats):
        order = list(encoders) if attempt % 2 == 0 else list(encoders)[::-1]
        for precision in order:
            began = time.perf_counter()
            vectors[precision] = encoders[precision].encode(chosen)
            seconds[precision].append(time.perf_counter() - began)
    cosine = np.sum(vectors["float32"] * vectors["bfloat16"], axis=1)
    return {
        "texts": len(chosen),
        "float32": statistics.median(seconds["float32"]),
        "bfloat16": statistics.median(seconds["bfloat16"]),
        "min_cosine": float(cosine.min()),
        "matmul_share": bf16_matmul_time_share(),
        "auto": resolve_precision("auto", "cpu"),
        "load": os.getloadavg()[0],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--isa", nargs="+", choices=sorted(ISA_CAPS), default=["native"])
    parser.add_argument("--texts", type=int, default=300, help="SQuAD2-dev paragraphs to embed")
    parser.add_argument("--repeats", type=int, default=2, help="runs per precision; median")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(measure(args.texts, args.repeats)), flush=True)
        return 0
    print(
        "| CPU kernels | texts | float32 s | bfloat16 s | bf16 vs float32 | min cosine "
        "| matmul share | auto picks | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for isa in args.isa:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", **ISA_CAPS[isa]}
        command = [sys.executable, "-m", "bench.precision", "--worker"]
        command += ["--texts", str(args.texts), "--repeats", str(args.repeats)]
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            raise SystemExit(
                f"{isa}: the worker failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
            )
        r = json.loads(lines[-1][len("RESULT ") :])
        print(
            f"| {isa} | {r['texts']} | {r['float32']:.1f} | {r['bfloat16']:.1f} | "
            f"{r['float32'] / r['bfloat16']:.2f}x | {r['min_cosine']:.4f} | "
            f"{r['matmul_share']:.2f} | {r['auto']} | {r['load']:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
