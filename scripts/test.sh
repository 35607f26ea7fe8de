#!/usr/bin/env bash
# Install Byline with its test and scale extras into .venv and run the test suite (the scale
# extra, Milvus Lite and Ray, is what tests/test_scale_*.py run on).
# Browser tests drive Debian's Chromium; they are skipped (with the reason) where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,scale]'
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest "$@"
