"""The run header: the views of a run and its downloads."""

from datetime import UTC, datetime

from components.run_header import EXPORTS, create_run_header
from core.results.runs import RunRow
from tests.components.tree import find, text


def _run() -> RunRow:
    return RunRow(id=4, name="Screen A", instrument="sim", operator="ana", state="completed",
                  tags=(), notes="", error=None, created_at=datetime(2026, 3, 1, tzinfo=UTC),
                  started_at=None, finished_at=None, total=10, finished=10,
                  by_state={"done": 8, "no_contact": 2})


def test_the_header_links_the_other_views_and_every_export_by_run_id():
    header = create_run_header(_run(), current="trends")
    downloads = {link.href: link.download for link in find(header)
                 if getattr(link, "download", None)}
    assert downloads == {"/runs/4/spots.csv": "run_4_spots.csv",
                         "/runs/4/bundle.h5": "run_4_bundle.h5",
                         "/runs/4/report.html": "run_4_report.html"}
    assert len(EXPORTS) == 3
    hrefs = [getattr(node, "href", None) for node in find(header)]
    assert "/results/4" in hrefs and "/trends/4" not in hrefs  # the current view is text
    assert "10 spots: 8 done, 2 no contact" in text(header)
