"""Meniscus web app: Dash pages to review runs and spots, plus frame and CSV routes.

    python app.py [--host 127.0.0.1] [--port 8050] [--data-dir DIR] [--debug]
    gunicorn app:server            (production; settings from the environment / .env)

The app reads the run ledger (SQLite in the data folder by default, PostgreSQL via
``DATABASE_URL``), brings its schema up to date at start, and never drives an instrument: work
is submitted to the workers. Pages live in ``pages/`` (one module each), figures and layout
pieces in ``components/``, queries in ``core.results``; the Flask routes are in
``app_routes.py``; logins, sessions and role checks in ``app_auth.py`` (every request needs
a login; see README "Accounts"). To have something to look at on a fresh machine:
``python scripts/seed_demo.py`` (runs a small grid on the digital twin, outside the web app).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html

from app_api import register_api
from app_auth import csrf_token, register_auth
from app_exports import register_exports
from app_routes import register_routes
from components.navbar import create_navbar
from core.settings import Settings, get_settings
from core.storage.db import upgrade_database
from pages._access import current_actor

ROOT = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None) -> Dash:
    """Build the Dash app for ``settings`` (default: from the environment).

    Dash registers the pages of ``pages/`` when the app is built, once per process: build one
    app per process (tests of single pages call their functions directly instead).
    """
    settings = settings or get_settings()
    url = settings.resolved_database_url
    upgrade_database(url)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        title="Meniscus",
        update_title=None,
        # page layouts depend on the URL; their components are not all in the first layout
        suppress_callback_exceptions=True,
    )
    app.server.config.update(
        MENISCUS_DATABASE_URL=url,
        MENISCUS_DATA_DIR=str(Path(settings.data_dir).resolve()),
    )
    register_routes(app.server)
    register_exports(app.server)
    register_api(app.server)
    register_auth(app.server, settings, dash_app=app)
    app.layout = serve_layout
    return app


def serve_layout() -> html.Div:
    """The frame of every page, with the logged-in user in the navigation bar."""
    actor = current_actor()
    return html.Div([
        create_navbar(actor, csrf_token() if actor is not None else ""),
        dbc.Container(dash.page_container, fluid=True, className="pb-4 px-4"),
    ])


_built: dict[str, Dash] = {}


def __getattr__(name: str):
    """``app`` and ``server`` are built on first use (``gunicorn app:server``), not on import."""
    if name not in ("app", "server"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if "app" not in _built:
        _built["app"] = create_app()
    return _built["app"] if name == "app" else _built["app"].server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the Meniscus web app.")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: MENISCUS_DATA_DIR or ./data)")
    parser.add_argument("--debug", action="store_true", help="Dash dev tools and reloader")
    args = parser.parse_args(argv)
    settings = Settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    app = create_app(settings)
    print(f"Meniscus: http://{args.host}:{args.port}/  (data: {settings.data_dir.resolve()}, "
          f"database: {settings.resolved_database_url.split('@')[-1]})", flush=True)
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
