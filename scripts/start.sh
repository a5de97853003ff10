#!/usr/bin/env bash
# Set up Meniscus and start the web app on the simulated instrument: SQLite and data under
# ./data, embedded workers started on demand (no server of any kind needed).
# Options go to app.py, e.g. --port 8050 or --host 0.0.0.0.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
