import dash_bootstrap_components as dbc
import pytest

from components import movie_player as player
from tests.components.tree import find, find_one, text


def test_a_galvanostatic_spot_with_its_movie_at_the_frame_of_the_url(page, small_run):
    spot_id = small_run.spot_ids[(0, 0)]
    layout = page("spot").layout(spot_id=str(spot_id), frame="9", view="processed")
    assert find_one(layout, id=player.IMAGE_ID).src == f"/frames/{spot_id}/9.png?view=processed"
    et = find_one(layout, id="spot-et").figure
    names = [trace.name for trace in et.data]
    assert names[:3] == ["E", "E_nuc", "E_growth"] and "t_nuc(IRM)" in names
    cursor = [shape for shape in et.layout.shapes if shape.name == "frame-cursor"]
    meta = find_one(layout, id=player.META_ID).data
    assert cursor[0].x0 == pytest.approx(meta["times_s"][9], abs=5e-4)
    words = text(layout)
    assert "0.78 mA/cm² × 5 s" in words and "E_nuc (V) -0.1300" in words
    assert "Potential vs charge (Q = j·t)" in words
    titles = [item.title for item in find(layout) if isinstance(item, dbc.AccordionItem)]
    assert titles == ["galvanostatic (v2)", "irm (v1)", "sem (v1)"]


def test_cv_excluded_and_unmeasured_spots(page, small_run):
    cv = page("spot").layout(spot_id=str(small_run.spot_ids[(2, 0)]))
    assert "Cyclic voltammogram" in text(cv) and "No movie" in text(cv)
    assert "CE (last cycle) 0.610" in text(cv)
    excluded = page("spot").layout(spot_id=str(small_run.spot_ids[(1, 2)]))
    assert "Excluded in review: bubble in the meniscus" in text(excluded)
    missed = page("spot").layout(spot_id=str(small_run.spot_ids[(1, 1)]))
    assert "No data for this spot" in text(missed) and not find(missed, id=player.IMAGE_ID)
    assert "Spot error: no contact within 12 µm" in text(missed)


def test_unknown_spot_and_bad_frame(page, small_run):
    assert "spot 777 does not exist" in text(page("spot").layout(spot_id="777"))
    assert "'x' is not a spot id" in text(page("spot").layout(spot_id="x"))
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 1)]), frame="late")
    assert find_one(layout, id=player.SLIDER_ID).value == 0


def test_a_spot_opens_on_the_frame_nearest_t_nuc(page, small_run):
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 1)]))
    meta = find_one(layout, id=player.META_ID).data
    frame = find_one(layout, id=player.SLIDER_ID).value
    times = meta["times_s"]
    assert abs(times[frame] - 3.80) <= min(abs(t - 3.80) for t in times) + 1e-9
    assert times[frame] > 3.5
