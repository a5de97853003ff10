"""Colours of run and spot states, shared by badges, tables and the status map."""

from __future__ import annotations

import dash_bootstrap_components as dbc

#: Bootstrap colour per run state
RUN_STATE_COLOURS = {
    "queued": "secondary", "active": "primary", "paused": "warning",
    "interrupted": "warning", "completed": "success", "aborted": "dark", "failed": "danger",
}

#: hex colour per status-map category (colour-blind-safe Okabe–Ito where it matters)
STATUS_COLOURS = {
    "done": "#009E73", "excluded": "#CC79A7", "no_contact": "#E69F00", "failed": "#D55E00",
    "interrupted": "#F0E442", "skipped": "#BBBBBB", "pending": "#E8E8E8", "running": "#0072B2",
}


def create_state_badge(state: str) -> dbc.Badge:
    """A run state as a coloured pill."""
    return dbc.Badge(state, color=RUN_STATE_COLOURS.get(state, "secondary"), pill=True,
                     className="text-capitalize")
