"""A run's one-page HTML report: who ran it, heatmaps, trends and the condition table.

One self-contained file (no network needed to open it, e.g. from an e-mail): Plotly's
JavaScript is included once and every figure is JSON from the app's own factories
(:func:`components.heatmap.create_heatmap`, :func:`components.trend_plots.create_trend_plot`),
so the report looks like the app and stays interactive (hover, zoom, PNG and SVG download:
``assets/figure_download.js`` is inlined too).
Plotly JS costs ~4.7 MB once; a 10,000-spot heatmap adds ~0.6 MB (values and hover texts),
where rendering the same figures as inline SVG would need an image renderer on the server and
still cost one element per cell.

    data = report_data(url, run_id)      # numbers, from core.results
    text = create_report(data)           # the HTML document
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs

import core
from components.graph_config import graph_config
from components.heatmap import create_heatmap
from components.trend_plots import create_trend_plot, format_mean_sd, trend_plots_with_values
from core.results.grid_values import MetricGrid, metric_grid
from core.results.metrics import METRICS, STATUS
from core.results.runs import RunRow, run_header
from core.results.spot_table import spot_table
from core.results.trends import ConditionTrend, Trends, condition_trends
from core.storage.ledger import Ledger

#: how tall each heatmap is drawn, px
HEATMAP_HEIGHT_PX = 420
#: the script that adds the SVG button to every plot's toolbar, inlined into the report
DOWNLOAD_SCRIPT = Path(__file__).resolve().parent.parent / "assets" / "figure_download.js"


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows of one run.

    ``heatmaps`` holds the status map and every metric with at least one value;
    ``n_excluded`` and ``n_flagged`` count spots excluded in review and spots with an active
    flag; ``generated_at`` is when the numbers were read (UTC).
    """

    run: RunRow
    grid_name: str
    speed: float
    heatmaps: list[MetricGrid]
    trends: Trends
    n_excluded: int
    n_flagged: int
    software_version: str
    generated_at: datetime


def report_data(url: str, run_id: int) -> ReportData:
    """Read what the report of run ``run_id`` shows; raises ``UnknownRun``."""
    run = run_header(url, run_id)
    summary = Ledger(url).run_summary(run_id)
    table = spot_table(url, run_id)
    grids = [metric_grid(url, run_id, STATUS)]
    grids += [grid for grid in (metric_grid(url, run_id, key) for key in METRICS)
              if grid.n_values]
    return ReportData(
        run=run, grid_name=str((summary["grid"] or {}).get("name", "")),
        speed=float(summary["speed"]), heatmaps=grids, trends=condition_trends(url, run_id),
        n_excluded=sum(bool(row.get("excluded")) for row in table),
        n_flagged=sum(bool(row.get("flags")) for row in table),
        software_version=core.__version__, generated_at=datetime.now(UTC))


def create_report(data: ReportData) -> str:
    """The report as one HTML document (UTF-8 text)."""
    run = data.run
    figures: list[tuple[str, dict]] = []
    heatmap_sections = []
    for grid in data.heatmaps:
        figure = create_heatmap(grid)
        figure["layout"] = {**figure["layout"], "height": HEATMAP_HEIGHT_PX}
        figure["config"] = graph_config(f"run_{run.id}_{grid.metric}", responsive=True)
        figures.append((f"heatmap-{grid.metric}", figure))
        heatmap_sections.append(_figure_block(f"heatmap-{grid.metric}", grid.title))
    trend_sections = []
    for number, plot in enumerate(trend_plots_with_values(data.trends)):
        figure = json.loads(to_json_plotly(create_trend_plot(data.trends, plot)))
        figure["config"] = graph_config(plot.filename(run.id), responsive=True)
        figures.append((f"trend-{number}", figure))
        trend_sections.append(_figure_block(f"trend-{number}", plot.title))
    body = "\n".join([
        f"<h1>{_e(run.name)} <small>run {run.id} · {_e(run.state)}</small></h1>",
        _provenance(data),
        "<h2>Heatmaps</h2>",
        f'<div class="grid">{"".join(heatmap_sections)}</div>',
        "<h2>Trends</h2>",
        _trend_note(data.trends),
        f'<div class="grid">{"".join(trend_sections)}</div>' if trend_sections
        else "<p>No condition has analysed values yet.</p>",
        "<h2>Conditions</h2>",
        _condition_table(data.trends.conditions),
    ])
    return _DOCUMENT.format(
        title=_e(f"{run.name} · run {run.id} · Meniscus report"), style=_STYLE, body=body,
        plotly=get_plotlyjs(), figures=_script_json(dict(figures)),
        download=DOWNLOAD_SCRIPT.read_text(encoding="utf-8"))


# --- pieces -----------------------------------------------------------------------------------
def _provenance(data: ReportData) -> str:
    run = data.run
    counts = ", ".join(f"{n} {state.replace('_', ' ')}"
                       for state, n in sorted(run.by_state.items(), key=lambda kv: -kv[1]))
    rows = [
        ("Operator", run.operator or "—"),
        ("Instrument", f"{run.instrument} (speed ×{data.speed:g})"),
        ("Grid", data.grid_name or "—"),
        ("Created", _time(run.created_at)), ("Started", _time(run.started_at)),
        ("Finished", _time(run.finished_at)),
        ("Spots", f"{run.total}: {counts}" if run.total else "none"),
        ("Review", f"{data.n_excluded} excluded, {data.n_flagged} flagged"),
        ("Tags", ", ".join(run.tags) or "—"),
        ("Notes", run.notes or "—"),
        ("Report", f"Meniscus {data.software_version}, {_time(data.generated_at)}"),
    ]
    if run.error:
        rows.insert(6, ("Error", run.error))
    cells = "".join(f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>" for key, value in rows)
    return f'<table class="facts">{cells}</table>'


def _trend_note(trends: Trends) -> str:
    note = "Mean ± sd over the repeats of each condition; spots excluded in review left out."
    if trends.j_lim_mA_cm2:
        note += (f" Dashed line: steady-state transport limit j_lim ≈ "
                 f"{trends.j_lim_mA_cm2:.2f} mA/cm² for the {trends.pipette_diameter_um:g} µm "
                 f"pipette.")
    return f'<p class="note">{_e(note)}</p>'


def _condition_table(conditions: list[ConditionTrend]) -> str:
    keys = [key for key in METRICS if any(c.stats[key].mean is not None for c in conditions)]
    head = "".join(f"<th>{_e(text)}</th>" for text in (
        "Condition", "Spots kept / excluded / all",
        *(METRICS[key].axis_title for key in keys)))
    rows = []
    for condition in conditions:
        label = condition.condition + (" (above j_lim)" if condition.above_transport_limit
                                       else "")
        cells = [label, f"{condition.n_measured} / {condition.n_excluded} / "
                        f"{condition.n_spots}"]
        cells += [format_mean_sd(condition, key) for key in keys]
        rows.append("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>")
    return (f'<table class="conditions"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _figure_block(figure_id: str, title: str) -> str:
    return (f'<section class="figure"><h3>{_e(title)}</h3>'
            f'<div class="plot" data-figure="{_e(figure_id)}"></div></section>')


def _time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _script_json(value) -> str:
    """JSON safe inside ``<script>``: no ``<`` (so no ``</script>``), ``>`` or ``&``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1400px; padding: 0 16px; color: #222; }
h1 small { font-size: 55%; color: #666; font-weight: normal; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 0 0 4px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table.facts th { background: #f6f6f6; width: 9em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr));
        gap: 16px; }
.note { color: #666; font-size: 13px; }
@media print { .figure { break-inside: avoid; } }
"""

_DOCUMENT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Meniscus">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
<script>{plotly}</script>
<script type="application/json" id="figures">{figures}</script>
<script>
(function () {{
  var figures = JSON.parse(document.getElementById("figures").textContent);
  document.querySelectorAll("[data-figure]").forEach(function (element) {{
    var figure = figures[element.getAttribute("data-figure")];
    Plotly.newPlot(element, figure.data, figure.layout, figure.config);
  }});
}})();
</script>
<script>{download}</script>
</body>
</html>
"""
