"""The table of a run's flagged and excluded spots, each linking to its spot page."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.review_flags import create_flag_badge
from core.review.reviewed_spots import ReviewedSpot


def create_reviewed_spots_table(spots: list[ReviewedSpot]) -> html.Div | dbc.Table:
    """Spot (link), place, condition, active flags, and the exclusion with who and why."""
    if not spots:
        return html.Div("No spot is flagged or excluded.", className="text-muted small")
    header = html.Thead(html.Tr([html.Th("Spot"), html.Th("Place"), html.Th("Condition"),
                                 html.Th("Flags"), html.Th("Excluded")]))
    rows = [html.Tr([
        html.Td(dcc.Link(f"spot {spot.spot_id}", href=f"/spot/{spot.spot_id}"),
                className="text-nowrap"),
        html.Td(f"row {spot.row}, col {spot.col}" if spot.row is not None
                else f"visit {spot.order + 1}", className="text-nowrap"),
        html.Td(spot.condition),
        html.Td([create_flag_badge(flag) for flag in spot.flags]),
        html.Td(f"{spot.exclusion.reason} ({spot.exclusion.reviewer})"
                if spot.exclusion else "—"),
    ]) for spot in spots]
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, responsive=True,
                     className="small bg-white")
