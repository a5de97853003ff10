"""The spot page's SEM section: image with outlines, histogram, numbers, image picker."""

from __future__ import annotations

import re

from dash import dcc

from core.results.sem_import import import_sem_file
from tests.components.tree import find, find_one, text
from tests.core.results.sem_files import tiff_bytes
from workers.analysis_task import analyse_spot


def _imported(run, tmp_path, place, seed=1) -> int:
    return import_sem_file(run.url, run.data_dir, run_id=run.run_id, spot_id=run.spot_ids[place],
                           name=f"r{place[0]}c{place[1]}_{seed}.tif",
                           data=tiff_bytes(tmp_path, seed), max_bytes=10**7,
                           uploaded_by="ana").image_id


def test_a_spot_without_image_points_to_the_import_page(page, small_run):
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 2)]))
    assert "No SEM image" in text(layout)
    assert f"/import/{small_run.run_id}" in {getattr(c, "href", None) for c in find(layout)}


def test_an_analysed_image_shows_outlines_histogram_and_numbers(page, small_run, tmp_path):
    spot_id = small_run.spot_ids[(1, 0)]  # holds a hand-set sem v1: this one is v2
    image_id = _imported(small_run, tmp_path, (1, 0))
    analyse_spot(small_run.url, small_run.data_dir, spot_id, {"sem_image_id": image_id},
                 kind="sem")
    layout = page("spot").layout(spot_id=str(spot_id))

    graphs = [g.figure for g in find(layout) if isinstance(g, dcc.Graph)]
    [image] = [f for f in graphs if f.layout.images]
    assert image.layout.images[0].source == f"/sem/{image_id}.png"
    assert [trace.name for trace in image.data] == ["counted particles", "not counted"]
    assert image.data[0].x.count(None) > 50 and len(image.layout.shapes) == 2
    assert len(image.to_json()) < 300_000  # outlines only, never the pixels
    assert any(trace.type == "bar" for f in graphs for trace in f.data)
    words = text(layout)
    assert "r1c0_1.tif" in words and "analysis v2" in words
    assert "9.77 nm/px (metadata: TIFF resolution)" in words
    assert "footprint" in words and "edge" in words and "centre" in words
    assert find_one(layout, id="spot-sem-picker").style == {"display": "none"}
    # every density of the SEM table has 3 significant digits
    densities = re.findall(r"\d[.\d]*e[+-]\d+", text(find_one(layout, id="spot-sem-body")))
    assert len(densities) >= 3
    assert all(re.fullmatch(r"\d\.\d\de[+-]\d\d", d) for d in densities), densities
    # downloads are named after the image
    names = {g.config["toImageButtonOptions"]["filename"] for g in find(layout)
             if isinstance(g, dcc.Graph)}
    assert {f"sem_{image_id}_particles", f"sem_{image_id}_particle_sizes"} <= names


def test_the_picker_switches_between_images_and_shows_queued_ones(page, small_run, tmp_path):
    spot_id = small_run.spot_ids[(0, 2)]
    first = _imported(small_run, tmp_path, (0, 2))
    analyse_spot(small_run.url, small_run.data_dir, spot_id, {"sem_image_id": first},
                 kind="sem")
    second = _imported(small_run, tmp_path, (0, 2), seed=2)
    layout = page("spot").layout(spot_id=str(spot_id))
    picker = find_one(layout, id="spot-sem-picker")
    assert [option["value"] for option in picker.options] == [second, first]
    assert picker.value == second and picker.style == {}
    assert "Analysis queued" in text(layout)
    assert find_one(layout, id="spot-sem-body").children[1].src == f"/sem/{second}.png"

    body = page("_spot_sem").show_image(first)
    assert "Analysis queued" not in text(body)
    assert [g for g in find(body) if isinstance(g, dcc.Graph)]
    assert "SEM image 999 does not exist" in text(page("_spot_sem").show_image(999))
