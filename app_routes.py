"""Flask routes beside the Dash pages: movie frames as PNG and a run's spot table as CSV.

    GET /frames/<spot_id>/<index>.png?view=raw|bg|processed
    GET /runs/<run_id>/spots.csv
    GET /sem/<image_id>.png

Frames are what the spot page's player swaps into an ``<img>``: one frame per request, never
the movie. A committed spot file never changes (the ledger holds its SHA-256), so responses
carry an ETag from that checksum and may be cached by the browser; encoded frames are also
kept in a small in-process cache so scrubbing back and forth costs nothing.

The database URL and data folder come from the Flask config through
:mod:`pages._context`, set by :func:`app.create_app`.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, Response, abort, request
from sqlalchemy import select

from core.errors import SemImageFileError
from core.results.frames import VIEWS, FrameError, frame_png
from core.results.sem_import import SemImportError, sem_image_file
from core.results.sem_view import image_file_png
from core.results.spot_table import spot_table_csv
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Measurement
from pages._context import data_dir, database_url

#: how long a browser may reuse a frame without asking again, s
FRAME_MAX_AGE_S = 24 * 3600


def register_routes(server: Flask) -> None:
    """Add the frame and CSV routes to ``server``."""
    server.add_url_rule("/frames/<int:spot_id>/<int:index>.png", "frame", frame)
    server.add_url_rule("/runs/<int:run_id>/spots.csv", "spots_csv", spots_csv)
    server.add_url_rule("/sem/<int:image_id>.png", "sem_image", sem_image)


def frame(spot_id: int, index: int) -> Response:
    """One movie frame of a spot as an 8-bit PNG (404 if there is no such frame)."""
    view = request.args.get("view", "raw")
    if view not in VIEWS:
        abort(400, description=f"view {view!r} is not one of {', '.join(VIEWS)}")
    found = _measurement(database_url(), spot_id)
    if found is None:
        abort(404, description=f"spot {spot_id} has no measurement")
    relative_path, sha256 = found
    path = data_dir() / relative_path
    try:
        png = _cached_png(str(path), sha256, index, view)
    except FrameError as error:
        abort(404, description=str(error))
    response = Response(png, mimetype="image/png")
    response.set_etag(f"{sha256[:20]}-{index}-{view}")
    response.cache_control.private = True
    response.cache_control.max_age = FRAME_MAX_AGE_S
    return response.make_conditional(request)


def spots_csv(run_id: int) -> Response:
    """Every spot of a run with its metrics, as a CSV download."""
    try:
        text = spot_table_csv(database_url(), run_id)
    except UnknownRun as error:
        abort(404, description=str(error))
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="run_{run_id}_spots.csv"'})


def sem_image(image_id: int) -> Response:
    """An imported SEM image, display-sized (≤ 1024 px a side, 8-bit), as a PNG (404 if
    there is no such image or its file does not read). Cached like frames: the file's
    SHA-256 is in the ledger and never changes."""
    try:
        relative_path, sha256, _spot_id = sem_image_file(
            database_url(), image_id)
    except SemImportError as error:
        abort(404, description=str(error))
    path = data_dir() / relative_path
    try:
        png = _cached_sem_png(str(path), sha256)
    except SemImageFileError as error:
        abort(404, description=f"SEM image {image_id} cannot be shown: {error.problem}")
    response = Response(png, mimetype="image/png")
    response.set_etag(f"sem-{sha256[:20]}")
    response.cache_control.private = True
    response.cache_control.max_age = FRAME_MAX_AGE_S
    return response.make_conditional(request)


@lru_cache(maxsize=32)
def _cached_sem_png(path: str, sha256: str) -> bytes:
    # keyed by the checksum too: the display image of one stored file never changes
    return image_file_png(path)


@lru_cache(maxsize=4096)
def _measurement_cached(url: str, spot_id: int) -> tuple[str, str]:
    with session_scope(url) as session:
        row = session.execute(
            select(Measurement.path, Measurement.sha256).where(Measurement.spot_id == spot_id)
        ).first()
    if row is None:
        raise LookupError(spot_id)  # not cached: the spot may be measured later
    return row[0], row[1]


def _measurement(url: str, spot_id: int) -> tuple[str, str] | None:
    """(relative path, SHA-256) of a spot's file; measurements never change once committed."""
    try:
        return _measurement_cached(url, spot_id)
    except LookupError:
        return None


@lru_cache(maxsize=512)
def _cached_png(path: str, sha256: str, index: int, view: str) -> bytes:
    # keyed by the checksum as well, so a re-measured spot (new file) is never served stale
    return frame_png(path, index, view=view)
