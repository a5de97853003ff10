"""The IRM movie player: an ``<img>`` whose src is swapped client-side, one PNG per frame.

No figure ever carries the movie: the browser fetches ``/frames/<spot>/<i>.png?view=...``
as the slider moves or the timer plays, caches each frame, and preloads the next one. The
behaviour (play/pause, stepping, URL and E–t cursor updates) is in ``assets/movie_player.js``,
wired by the spot page with the ids below.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np
from dash import dcc, html

from core.results.frames import VIEWS, MovieInfo

IMAGE_ID = "movie-image"
SLIDER_ID = "movie-slider"
PLAY_ID = "movie-play"
SPEED_ID = "movie-speed"
VIEW_ID = "movie-view"
TIMER_ID = "movie-timer"
LABEL_ID = "movie-label"
META_ID = "movie-meta"

VIEW_LABELS = {"raw": "raw", "bg": "background-subtracted", "processed": "processed (σ 1 µm)"}
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)
#: fastest frame period the timer is allowed, ms (a PNG fetch must keep up)
MIN_PERIOD_MS = 50


def frame_src(spot_id: int, index: int, view: str) -> str:
    """URL of one frame as served by the frame route."""
    return f"/frames/{spot_id}/{index}.png?view={view}"


def create_movie_player(spot_id: int, movie: MovieInfo, *, frame: int = 0,
                        view: str = "raw") -> html.Div:
    """Player for a spot's movie, starting at ``frame`` in ``view``.

    Speed is relative to real time: 1× plays at the median frame interval.
    """
    frame = int(np.clip(frame, 0, movie.n_frames - 1))
    view = view if view in VIEWS else "raw"
    times = np.round(np.asarray(movie.times_s, dtype=float), 3)
    interval_s = float(np.median(np.diff(times))) if movie.n_frames > 1 else 0.25
    meta = {"spot_id": spot_id, "n_frames": movie.n_frames, "times_s": times.tolist(),
            "frame_interval_s": interval_s, "landing_frame": movie.landing_frame,
            "min_period_ms": MIN_PERIOD_MS}
    marks = {0: "0", movie.landing_frame: "landing", movie.n_frames - 1: str(movie.n_frames - 1)}
    return html.Div([
        dcc.Store(id=META_ID, data=meta),
        html.Div([
            html.Img(id=IMAGE_ID, src=frame_src(spot_id, frame, view), className="movie-image",
                     alt=f"IRM frame {frame} of spot {spot_id}"),
            _scale_bar(movie),
        ], className="movie-frame"),
        html.Div(f"frame {frame} / {movie.n_frames - 1} · t = {times[frame]:.2f} s",
                 id=LABEL_ID, className="small text-muted text-center my-1"),
        dcc.Slider(id=SLIDER_ID, min=0, max=movie.n_frames - 1, step=1, value=frame,
                   marks=marks, updatemode="drag", className="movie-slider"),
        dbc.Row([
            dbc.Col(dbc.Button("▶ Play", id=PLAY_ID, size="sm", color="primary",
                               className="w-100"), width=3),
            dbc.Col(dbc.Select(id=SPEED_ID, size="sm", value="1", options=[
                {"label": f"{speed:g}× real time", "value": f"{speed:g}"} for speed in SPEEDS]),
                width=4),
            dbc.Col(dbc.Select(id=VIEW_ID, size="sm", value=view, options=[
                {"label": VIEW_LABELS[name], "value": name} for name in VIEWS]), width=5),
        ], className="g-2 mt-1"),
        dcc.Interval(id=TIMER_ID, interval=max(MIN_PERIOD_MS, 1000 * interval_s),
                     disabled=True),
    ], className="movie-player")


def _scale_bar(movie: MovieInfo):
    """A bar of a round length (~1/5 of the field), sized in % so it scales with the image.

    The length label sits above the bar on a dark plate (``.scale-bar-text`` in
    ``assets/meniscus.css``), so it reads on bright and dark frames alike."""
    if not movie.pixel_size_nm:
        return None
    field_um = movie.shape[1] * movie.pixel_size_nm * 1e-3
    candidates = [length for length in (0.5, 1, 2, 5, 10, 20, 50, 100)
                  if length <= field_um / 4]
    length_um = candidates[-1] if candidates else field_um / 4
    return html.Div([
        html.Div(f"{length_um:g} µm", className="scale-bar-text"),
        html.Div(className="scale-bar-line"),
    ], className="scale-bar", style={"width": f"{100 * length_um / field_um:.2f}%"})
