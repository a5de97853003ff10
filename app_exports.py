"""Run exports beside the per-spot CSV: the HDF5 bundle and the one-page HTML report.

    GET /runs/<run_id>/bundle.h5[?movies=0]    table, grid, provenance and every spot's data
    GET /runs/<run_id>/report.html             heatmaps, trends, conditions, who ran it

Exports are asked for by run id only (an integer in the URL; unknown ids give 404): the client
never names a file. The bundle is written by :func:`core.export.export_hdf5` to a private
temporary folder under ``<data_dir>/exports/``, opened, and unlinked before the first byte is
sent, so nothing is left behind whether the download completes or not. Both routes sit behind
the login gate and check the VIEW permission of the request's user.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from flask import Flask, Response, abort, g, request
from werkzeug.wsgi import wrap_file

from components.report import create_report, report_data
from core.auth.guard import NotAuthenticated, PermissionDenied, authorize
from core.auth.roles import Permission
from core.export import export_hdf5
from core.storage.ledger import Ledger, UnknownRun
from pages._context import data_dir, database_url

#: folder under the data folder that holds bundles while they are written
EXPORT_FOLDER = "exports"


def register_exports(server: Flask) -> None:
    """Add the bundle and report routes to ``server``."""
    server.add_url_rule("/runs/<int:run_id>/bundle.h5", "run_bundle", run_bundle)
    server.add_url_rule("/runs/<int:run_id>/report.html", "run_report", run_report)


def run_bundle(run_id: int) -> Response:
    """The run's HDF5 bundle as a download (``movies=0`` leaves the IRM movies out)."""
    url = _checked_run(run_id, "export bundle")
    movies = request.args.get("movies", "1")
    if movies not in ("0", "1"):
        abort(400, description=f"movies={movies!r}: expected 0 or 1")
    root = data_dir() / EXPORT_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"run_{run_id}_", dir=root))
    try:
        path = export_hdf5(url, run_id, folder / f"run_{run_id}.h5",
                           data_dir=data_dir(),
                           include_movies=movies == "1")
        handle = path.open("rb")
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the open handle keeps the data readable
    size = os.fstat(handle.fileno()).st_size
    response = Response(wrap_file(request.environ, handle), mimetype="application/x-hdf5",
                        direct_passthrough=True)
    response.content_length = size
    response.headers["Content-Disposition"] = f'attachment; filename="run_{run_id}_bundle.h5"'
    response.cache_control.no_store = True
    return response


def run_report(run_id: int) -> Response:
    """The run's one-page HTML report (self-contained), as a download."""
    url = _checked_run(run_id, "export report")
    text = create_report(report_data(url, run_id))
    response = Response(text, mimetype="text/html")
    response.headers["Content-Disposition"] = f'attachment; filename="run_{run_id}_report.html"'
    response.cache_control.no_store = True
    return response


def _checked_run(run_id: int, action: str) -> str:
    """The database URL, once the user may view and run ``run_id`` exists (else 401/403/404)."""
    url = database_url()
    try:
        authorize(url, getattr(g, "meniscus_actor", None), Permission.VIEW, action=action,
                  target=f"run {run_id}", run_id=run_id, ip=request.remote_addr or "")
    except NotAuthenticated as error:
        abort(401, description=str(error))
    except PermissionDenied as error:
        abort(403, description=str(error))
    try:
        Ledger(url).run_summary(run_id)
    except UnknownRun as error:
        abort(404, description=str(error))
    return url
