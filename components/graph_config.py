"""The Plotly toolbar options every figure of the app shares (``dcc.Graph(config=...)``).

The camera button saves a PNG at twice the on-screen resolution (sharp in slides and
documents); ``assets/figure_download.js`` adds an SVG button beside it that uses the same file
name and size. Name downloads after what they show::

    dcc.Graph(figure=..., config=graph_config(f"run_{run_id}_e_nuc"))
"""

from __future__ import annotations

import re

#: pixel ratio of PNG downloads (2: a 700 px wide plot saves 1400 px wide)
PNG_SCALE = 2
#: file name (without extension) of downloads that were not given one
DEFAULT_FILENAME = "meniscus_figure"

#: the shared options; prefer :func:`graph_config` to name the downloaded file
GRAPH_CONFIG: dict = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": PNG_SCALE,
                             "filename": DEFAULT_FILENAME},
}


def download_filename(name: str) -> str:
    """``name`` made safe as a file name: letters, digits, ``-``, ``_`` and ``.`` only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:100] or DEFAULT_FILENAME


def graph_config(filename: str = DEFAULT_FILENAME, **options) -> dict:
    """:data:`GRAPH_CONFIG` with downloads named ``filename`` plus any other Plotly config
    ``options`` (``scrollZoom=True``, ``responsive=True``...)."""
    return {**GRAPH_CONFIG, **options,
            "toImageButtonOptions": {**GRAPH_CONFIG["toImageButtonOptions"],
                                     "filename": download_filename(filename)}}
