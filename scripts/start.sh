#!/usr/bin/env bash
# Set up Meniscus and start it on the simulated instrument (no server of any kind needed).
# Until the web app lands this runs the command-line demo: it simulates the article's
# constant-charge screen and a 10-cycle CV, analyses them and compares with the article.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m core demo "$@"
