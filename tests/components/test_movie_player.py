import numpy as np
import pytest

from components import movie_player as player
from core.results.frames import MovieInfo
from tests.components.tree import find, find_one, text

MOVIE = MovieInfo(n_frames=28, shape=(250, 250), times_s=np.arange(28) * 0.23 - 1.38,
                  landing_frame=6, pixel_size_nm=40.0)


def test_the_player_shows_one_frame_from_the_frame_route():
    component = player.create_movie_player(12, MOVIE, frame=9, view="bg")
    image = find_one(component, id=player.IMAGE_ID)
    assert image.src == "/frames/12/9.png?view=bg"
    slider = find_one(component, id=player.SLIDER_ID)
    assert (slider.min, slider.max, slider.value) == (0, 27, 9)
    assert slider.marks[6] == "landing"
    assert "frame 9 / 27 · t = 0.69 s" in text(component)
    meta = find_one(component, id=player.META_ID).data
    assert meta["n_frames"] == 28 and meta["spot_id"] == 12 and meta["landing_frame"] == 6
    assert meta["frame_interval_s"] == pytest.approx(0.23)
    assert len(meta["times_s"]) == 28


def test_real_time_playback_and_clipped_frames():
    component = player.create_movie_player(3, MOVIE, frame=99, view="nonsense")
    assert find_one(component, id=player.IMAGE_ID).src == "/frames/3/27.png?view=raw"
    timer = find_one(component, id=player.TIMER_ID)
    assert timer.interval == pytest.approx(230.0) and timer.disabled is True
    speeds = [option["value"] for option in find_one(component, id=player.SPEED_ID).options]
    assert speeds == ["0.5", "1", "2", "4", "8"]


def test_scale_bar_is_a_round_length_sized_against_the_field():
    component = player.create_movie_player(3, MOVIE)
    bar = find(component, className="scale-bar")[0]
    # field 250 px × 40 nm = 10 µm → 2 µm bar = 20 % of the width
    assert bar.style == {"width": "20.00%"}
    assert "2 µm" in text(bar)
    # the label comes first: it sits above the bar, not on it
    assert [child.className for child in bar.children] == ["scale-bar-text", "scale-bar-line"]
    without = MovieInfo(5, (10, 10), np.arange(5.0), 0, None)
    assert not find(player.create_movie_player(3, without), className="scale-bar")
