"""Peak memory of reading a WARC crawl: does it stay flat as the crawl grows?

    python -m bench.warc_memory                 # a 128 MB and a 1 GB crawl (.warc.gz)
    python -m bench.warc_memory --sizes 64 256  # other sizes, in MB of WARC records

Generates each crawl in a temporary folder (deleted at the end): article pages of about
30 KB (3 KB of story in menus, scripts and footers), with a request record each, and large binary
responses (images, video) making up half the bytes, as crawls do. Each crawl is then read by
``qa.ingest.corpus.parse_file`` in a fresh process, which reports its peak RSS. Costs disk (the
largest crawl, compressed) and a few minutes of CPU; not a unit test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (
    "council harbour minister river market storm library election court budget rail "
    "museum school hospital bridge farmers festival strike police weather tunnel union"
).split()
BOILERPLATE = (
    "<nav>" + " ".join(f'<a href="/s{i}">Section {i}</a>' for i in range(60)) + "</nav>"
    "<script>" + "var t = 'tracking';" * 600 + "</script>"
    "<div class='subscribe'>Subscribe to our newsletter</div>"
    "<footer>" + "All rights reserved. Privacy policy. " * 80 + "</footer>"
)


def _page(number: int, rng: random.Random) -> bytes:
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + ".</p>" for _ in range(8)
    )
    return (
        f"<html><head><title>Story {number}</title>"
        f'<meta property="article:published_time" content="2024-01-{1 + number % 28:02d}">'
        f"</head><body>{BOILERPLATE}<article><h1>Story {number}</h1>{paragraphs}</article>"
        f"{BOILERPLATE}</body></html>"
    ).encode()


def generate(path: Path, megabytes: int, seed: int = 1) -> dict[str, int]:
    """A crawl of about ``megabytes`` MB of records; counts of what it holds."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(seed)
    target = megabytes * 2**20
    written = pages = blobs = 0
    blob = os.urandom(4 * 2**20)  # incompressible, like video
    html = [("Content-Type", "text/html; charset=utf-8")]
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=path.name.endswith(".gz"))
        while written < target:
            url = f"https://news.example/story/{pages}"
            body = _page(pages, rng)
            request = f"GET {url} HTTP/1.1\r\nHost: news.example\r\n\r\n".encode()
            writer.write_record(writer.create_warc_record(url, "request", io.BytesIO(request)))
            headers = StatusAndHeaders("200 OK", html, protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(url, "response", io.BytesIO(body), http_headers=headers)
            )
            written += len(body)
            pages += 1
            if written > (blobs + 1) * 2 * len(blob):  # binary records: half the bytes
                media = StatusAndHeaders("200 OK", [("Content-Type", "video/mp4")], "HTTP/1.1")
                writer.write_record(
                    writer.create_warc_record(
                        f"https://news.example/v/{blobs}.mp4",
                        "response",
                        io.BytesIO(blob),
                        http_headers=media,
                    )
                )
                written += len(blob)
                blobs += 1
    return {"pages": pages, "binary_records": blobs, "record_bytes": written}


def measure(path: Path) -> dict[str, float]:
    """Read the crawl in this process: peak RSS before and after, seconds, articles."""
    import trafilatura  # noqa: F401

    from qa.ingest.corpus import parse_file
    from qa.ingest.formats import (
        html,  # noqa: F401
        warc,  # noqa: F401 - import the parsers before the baseline
    )

    # What a build keeps of a crawl is its articles' text: the figure to compare with.
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    articles, warnings = parse_file(path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text_mb = sum(len(a.text) for a in articles) / 2**20
    return {
        "baseline_mib": round(baseline, 1),
        "peak_mib": round(peak, 1),
        "seconds": round(seconds, 1),
        "articles": len(articles),
        "warnings": len(warnings),
        "article_text_mib": round(text_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 1024], metavar="MB")
    parser.add_argument("--plain", action="store_true", help="write .warc, not .warc.gz")
    parser.add_argument("--measure", metavar="FILE", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    suffix = ".warc" if args.plain else ".warc.gz"
    with tempfile.TemporaryDirectory(prefix="byline-warc-bench-") as folder:
        for megabytes in args.sizes:
            path = Path(folder) / f"crawl-{megabytes}{suffix}"
            started = time.perf_counter()
            counts = generate(path, megabytes)
            made = time.perf_counter() - started
            child = subprocess.run(
                [sys.executable, "-m", "bench.warc_memory", "--measure", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"{megabytes} MB of records ({counts['pages']} pages, "
                f"{counts['binary_records']} binary records; file {path.stat().st_size / 2**20:.0f}"
                f" MB, made in {made:.0f} s): read in {figures['seconds']} s, "
                f"{figures['articles']} articles ({figures['article_text_mib']} MiB of text), "
                f"peak RSS {figures['peak_mib']} MiB (after imports {figures['baseline_mib']} MiB)",
                flush=True,
            )
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
