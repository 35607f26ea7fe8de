#!/usr/bin/env bash
# Install Byline with its test, scale and docs extras into .venv, build the docs site with
# --strict (a broken link, a missing page or an API object mkdocstrings cannot find fails
# here, before any test runs) and run the test suite (the scale extra, Milvus Lite and Ray, is
# what tests/test_scale_*.py run on).
# Browser tests drive Debian's Chromium; they are skipped (with the reason) where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,scale,docs]'
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 GRADIO_ANALYTICS_ENABLED=False
# Not --quiet: it hides the warnings that --strict counts, and a broken link then passes.
# The log is shown only when the build fails. NO_MKDOCS_2_WARNING silences Material's banner
# about MkDocs 2.0, which is not about this site.
docs_log="$(mktemp)" docs_site="$(mktemp -d)"
if ! NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$docs_site" \
    >"$docs_log" 2>&1; then
    cat "$docs_log" >&2
    echo "mkdocs build --strict failed (above); fix the docs/ page or docstring it names" >&2
    exit 1
fi
rm -rf "$docs_log" "$docs_site"
exec .venv/bin/python -m pytest "$@"
