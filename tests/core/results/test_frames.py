import io

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PIL import Image
from scipy import ndimage

from core.results.frames import (
    FrameError,
    frame_image,
    frame_png,
    frame_values,
    landing_frame_index,
    movie_info,
)
from core.storage.spot_files import SpotMovie, write_spot_file
from core.traces import Trace

TRACE = Trace(np.linspace(0.0, 1.0, 10), np.zeros(10), np.zeros(10))
#: landing at index 2 (t = 0); frame k is uniformly 1000 + 100·k counts
TIMES_S = np.array([-0.46, -0.23, 0.0, 0.23, 0.46, 0.69])
LEVELS = 1000 + 100 * np.arange(6)


def _file(tmp_path, frames, times_s=TIMES_S, pixel_size_nm=40.0, name="spot.h5"):
    path = tmp_path / name
    write_spot_file(path, TRACE, movie=SpotMovie(frames, times_s, pixel_size_nm))
    return path


@pytest.fixture
def uniform(tmp_path):
    frames = np.broadcast_to(LEVELS[:, None, None], (6, 8, 8)).astype(np.uint16)
    return _file(tmp_path, frames)


def test_raw_view_scales_the_whole_movie_from_landing_to_last_frame(uniform):
    # range 1200 (landing) … 1500 (last): frame 3 (1300 counts) is a third of the way
    assert_array_equal(frame_image(uniform, 3, view="raw"), np.full((8, 8), 85))
    assert_array_equal(frame_image(uniform, 0, view="raw"), 0)  # below the range: clipped
    assert_array_equal(frame_image(uniform, 5, view="raw"), 255)


def test_background_view_is_the_change_since_landing_around_mid_grey(uniform):
    # change since landing at frame 3 is +100 of a ±300 range: (100 + 300)·255/600 = 170
    assert_array_equal(frame_image(uniform, 3, view="bg"), 170)
    assert_array_equal(frame_image(uniform, 2, view="bg"), 127)  # zero change
    assert_array_equal(frame_image(uniform, 0, view="bg"), 42)  # −200: (−200 + 300)·0.425


def test_processed_view_averages_pairs_of_frames_from_the_landing(uniform):
    # frame 3 belongs to group (2, 3): mean 1250 − 1200 = 50; last group (4, 5): 250 = range
    assert_array_equal(frame_image(uniform, 3, view="processed"), 153)
    assert_array_equal(frame_image(uniform, 2, view="processed"), 153)
    assert_array_equal(frame_image(uniform, 5, view="processed"), 255)


@pytest.mark.parametrize("pixel_size_nm", [400.0, 40.0])  # σ = 2.5 px (direct), 25 px (blocks)
def test_processed_view_is_the_articles_pipeline_on_one_group(tmp_path, pixel_size_nm):
    rng = np.random.default_rng(3)
    frames = (2000 + rng.normal(0, 50, (6, 96, 80))
              + np.linspace(0, 300, 80)[None, None, :]).astype(np.uint16)
    path = _file(tmp_path, frames, pixel_size_nm=pixel_size_nm)
    sigma_px = 1000.0 / pixel_size_nm
    group = frames[4:6].astype(np.float32).mean(axis=0) - frames[2].astype(np.float32)
    expected = ndimage.gaussian_filter(group, sigma_px, mode="nearest")
    got = frame_values(path, 5, view="processed")
    assert got.shape == (96, 80)
    # direct filtering is exact; the block-averaged wide kernel within 2 % of the noise
    tolerance = 1e-3 if sigma_px < 8 else 0.02 * group.std()
    assert np.abs(got - expected).max() < tolerance
    assert got.std() < group.std() / 5


def test_png_decodes_to_the_same_pixels(uniform):
    png = frame_png(uniform, 3, view="bg")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert_array_equal(decoded, frame_image(uniform, 3, view="bg"))


def test_movie_info_describes_the_movie_without_its_pixels(uniform):
    info = movie_info(uniform)
    assert (info.n_frames, info.shape, info.landing_frame) == (6, (8, 8), 2)
    assert info.pixel_size_nm == 40.0


@pytest.mark.parametrize(("times_s", "landing"), [
    ([-0.5, -0.1, 0.0, 0.2], 2),
    ([0.0, 0.2, 0.4], 0),
    ([0.1, 0.3], 0),
    ([-1e-12, 0.23], 0),
    ([-0.6, -0.3], 1),
])
def test_landing_is_the_first_frame_at_or_after_time_zero(times_s, landing):
    assert landing_frame_index(times_s) == landing


def test_errors_name_the_file_and_the_limit(uniform, tmp_path):
    with pytest.raises(FrameError, match=r"frame 6 is outside the movie \(0–5\)"):
        frame_png(uniform, 6)
    with pytest.raises(FrameError, match="view 'fancy' is not one of raw, bg, processed"):
        frame_png(uniform, 0, view="fancy")
    with pytest.raises(FrameError, match="missing.h5: cannot open spot file"):
        frame_png(tmp_path / "missing.h5", 0)
    no_movie = tmp_path / "trace_only.h5"
    write_spot_file(no_movie, TRACE)
    with pytest.raises(FrameError, match="trace_only.h5: the spot has no movie"):
        frame_png(no_movie, 0)
    no_pixel = _file(tmp_path, np.zeros((6, 4, 4), np.uint16), pixel_size_nm=None,
                     name="no_pixel.h5")
    with pytest.raises(FrameError, match="needs the movie's pixel size"):
        frame_png(no_pixel, 0, view="processed")
