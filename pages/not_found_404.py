"""Shown for any path no page claims (Dash pages picks this module by its name)."""

import dash
from dash import html

from components.feedback import create_empty_state

dash.register_page(__name__, path="/404", title="Not found · Meniscus")


def layout(**_query):
    return create_empty_state(
        "Nothing here",
        "This address is not a Meniscus page (yet): the Design and Run pages are coming.",
        html.A("Back to the experiments", href="/"),
        icon="?",
    )
