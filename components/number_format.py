"""One way to write each metric's numbers across the app (cards, tables, hover texts).

A metric (:data:`core.results.metrics.METRICS`) keeps ``digits`` decimals, or ``digits``
significant digits when it spans decades (``significant``): a particle density of
1.5 × 10⁹ cm⁻² with 3 significant digits reads ``1.50e+09`` everywhere, never ``1.5e+09``
beside ``1.58e+09``.
"""

from __future__ import annotations

from core.results.metrics import METRICS

#: what a missing value reads as
MISSING = "—"


def metric_format_spec(key: str) -> str:
    """Format spec of metric ``key`` for Python's ``format`` and Plotly's d3 hover
    templates alike: ``".4f"`` (decimals) or ``".2e"`` (3 significant digits)."""
    metric = METRICS[key]
    if metric.significant:
        return f".{metric.digits - 1}e"
    return f".{metric.digits}f"


def format_metric(key: str, value: float | None) -> str:
    """``value`` of metric ``key`` in its unit, as :func:`metric_format_spec` writes it;
    :data:`MISSING` for None."""
    return MISSING if value is None else format(value, metric_format_spec(key))
