#!/usr/bin/env bash
# Set up and run every check Meniscus has: lint, layering contracts, the whole test suite.
# This is the README's test command and exactly what CI (.ci/run) calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
bash scripts/services.sh
export PYTHONHASHSEED=0
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
