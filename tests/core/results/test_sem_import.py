"""SEM import: grid indices from file names, registration to spots, analysis status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.results.record import record_analysis
from core.results.sem_import import (
    GridIndex,
    SemImageAnalysis,
    SemImportError,
    find_spot,
    image_statuses,
    import_sem_file,
    parse_grid_index,
    preview_sem_file,
    sem_image_analysis,
    spot_choices,
    spot_for_file,
    spot_sem_images,
)
from core.storage.db import session_scope
from core.storage.models import SemImage
from core.storage.uploads import UploadRefused
from tests.core.results.sem_files import png_bytes, tiff_bytes


@pytest.mark.parametrize(("name", "index"), [
    ("r03c12.tif", GridIndex(row=3, col=12)),
    ("R3C12.TIF", GridIndex(row=3, col=12)),
    ("screen1_r3_c12_5kV.tif", GridIndex(row=3, col=12)),
    ("row3_col12.tif", GridIndex(row=3, col=12)),
    ("Row-3-Col-12.png", GridIndex(row=3, col=12)),
    ("row 3 column 12.jpg", GridIndex(row=3, col=12)),
    ("spot_0042.tif", GridIndex(order=42)),
    ("spot42.tif", GridIndex(order=42)),
    ("IDX42.tiff", GridIndex(order=42)),
    ("C:\\sem\\r1c2\\spot_7.tif", GridIndex(order=7)),  # folders never count
    ("r1c2 r01c02.tif", GridIndex(row=1, col=2)),  # the same place twice is no ambiguity
])
def test_grid_indices_are_read_from_file_names(name, index):
    assert parse_grid_index(name) == index


@pytest.mark.parametrize("name", ["footprint.tif", "scr12c3.tif", "error42.tif", "r3.tif",
                                  "bar1c2.tif", "2026-03-01.tif"])
def test_names_without_an_index_give_none(name):
    assert parse_grid_index(name) is None


@pytest.mark.parametrize(("name", "message"), [
    ("r1c2_r3c4.tif", r"r1c2_r3c4\.tif: the name is ambiguous \(row 1, col 2 and row 3, "
                      r"col 4\); pick the spot by hand"),
    ("r1c2_spot5.tif", r"ambiguous \(order index 5 \(visit 6\) and row 1, col 2\)"),
])
def test_names_with_two_places_are_refused(name, message):
    with pytest.raises(SemImportError, match=message):
        parse_grid_index(name)


def test_indices_find_the_spot_of_the_run(small_run):
    url, ids = small_run.url, small_run.spot_ids
    assert find_spot(url, small_run.run_id, GridIndex(row=1, col=2)).spot_id == ids[(1, 2)]
    assert find_spot(url, small_run.run_id, GridIndex(order=3)).spot_id == ids[(1, 0)]
    assert spot_for_file(url, small_run.run_id, "r0c1.tif") == ids[(0, 1)]
    assert spot_for_file(url, small_run.run_id, "anything.tif", ids[(1, 0)]) == ids[(1, 0)]


@pytest.mark.parametrize(("index", "message"), [
    (GridIndex(row=3, col=12), r"f\.tif: row 3, col 12 is not in run \d+'s grid \(rows 0–2, "
                               r"cols 0–2, spots 0–8\)"),
    (GridIndex(order=9), r"order index 9 \(visit 10\) is not in run \d+'s grid"),
    (GridIndex(row=1, col=1), r"row 1, col 1 was never measured \(state no contact\)"),
])
def test_places_outside_the_grid_or_unmeasured_are_refused(small_run, index, message):
    with pytest.raises(SemImportError, match=message):
        find_spot(small_run.url, small_run.run_id, index, name="f.tif")


def test_a_name_without_index_and_no_spot_chosen_is_refused(small_run):
    with pytest.raises(SemImportError, match=r"sem\.tif: the name gives no grid index"):
        spot_for_file(small_run.url, small_run.run_id, "sem.tif")


def test_choices_are_the_measured_spots_in_visiting_order(small_run):
    choices = spot_choices(small_run.url, small_run.run_id)
    places = [(choice.row, choice.col) for choice in choices]
    assert places == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    assert choices[0].label == "r0c0 · 0.78 mA/cm² × 5 s (done)"


def test_an_import_is_stored_and_registered_with_its_pixel_size(small_run, tmp_path):
    url, data_dir = small_run.url, small_run.data_dir
    data = tiff_bytes(tmp_path)
    imported = import_sem_file(url, data_dir, run_id=small_run.run_id,
                               spot_id=small_run.spot_ids[(0, 0)], name="../../r0c0.tif",
                               data=data, max_bytes=10**7, uploaded_by="ana")
    assert imported.display_name == "r0c0.tif"
    assert imported.pixel_size_nm == pytest.approx(3.0 * 1.25e3 / 384, rel=1e-6)
    assert imported.pixel_size_source == "metadata: TIFF resolution"
    with session_scope(url) as session:
        image = session.get(SemImage, imported.image_id)
        assert (image.spot_id, image.original_name, image.uploaded_by, image.size_bytes) == (
            small_run.spot_ids[(0, 0)], "r0c0.tif", "ana", len(data))
        assert (data_dir / image.path).read_bytes() == data
        assert image.path.startswith("uploads/sem/")


def test_a_png_takes_the_pixel_size_given(small_run):
    imported = import_sem_file(small_run.url, small_run.data_dir, run_id=small_run.run_id,
                               spot_id=small_run.spot_ids[(0, 1)], name="r0c1.png",
                               data=png_bytes(), max_bytes=10**7, pixel_size_nm=11.7)
    assert (imported.pixel_size_nm, imported.pixel_size_source) == (11.7, "given")


def _nothing_stored(run) -> bool:
    with session_scope(run.url) as session:
        rows = session.scalars(select(SemImage)).all()
    uploads = run.data_dir / "uploads"
    return not rows and not (uploads.exists() and any(uploads.rglob("*.*")))


@pytest.mark.parametrize(("place", "name", "data", "error", "message"), [
    ((1, 1), "r1c1.tif", None, SemImportError, r"spot \d+ was never measured"),
    ((0, 0), "r0c0.tif", b"II*\x00" + b"\x00" * 64, SemImportError, r"r0c0\.tif: "),
    ((0, 0), "r0c0.gif", b"GIF89a", UploadRefused, r"extension '\.gif' is not accepted"),
    ((0, 0), "r0c0.tif", b"II*\x00" + bytes(2000), UploadRefused, "over the upload limit"),
])
def test_a_refused_import_leaves_no_record_and_no_file(small_run, tmp_path, place, name, data,
                                                        error, message):
    data = tiff_bytes(tmp_path) if data is None else data
    with pytest.raises(error, match=message):
        import_sem_file(small_run.url, small_run.data_dir, run_id=small_run.run_id,
                        spot_id=small_run.spot_ids[place], name=name, data=data,
                        max_bytes=1000 if "limit" in message else 10**7)
    assert _nothing_stored(small_run)


def test_a_spot_of_another_run_is_refused(small_run, tmp_path):
    with pytest.raises(SemImportError, match=rf"spot \d+ is not a spot of run "
                                             rf"{small_run.other_run_id}"):
        import_sem_file(small_run.url, small_run.data_dir, run_id=small_run.other_run_id,
                        spot_id=small_run.spot_ids[(0, 0)], name="a.tif",
                        data=tiff_bytes(tmp_path), max_bytes=10**7)
    assert _nothing_stored(small_run)


def test_statuses_follow_the_sem_analysis_naming_each_image(small_run, tmp_path):
    url, spot_id = small_run.url, small_run.spot_ids[(1, 0)]
    ids = [import_sem_file(url, small_run.data_dir, run_id=small_run.run_id, spot_id=spot_id,
                           name=f"{k}.tif", data=tiff_bytes(tmp_path), max_bytes=10**7).image_id
           for k in range(3)]
    record_analysis(url, spot_id, "sem", parameters={"sem_image_id": ids[0]},
                    results={"count": 12, "density_per_cm2": 1.5e9, "mean_diameter_nm": 40.0})
    record_analysis(url, spot_id, "sem", parameters={"sem_image_id": ids[1]},
                    results={"error": "no footprint found"})
    first, second, third = image_statuses(url, ids)
    assert (first.state, first.count, first.density_per_cm2, first.mean_diameter_nm) == (
        "done", 12, 1.5e9, 40.0)
    assert (second.state, second.error) == ("failed", "no footprint found")
    assert (third.state, third.spot_id) == ("queued", spot_id)
    with pytest.raises(SemImportError, match="SEM image 999 does not exist"):
        image_statuses(url, [999])


def test_an_images_analysis_is_read_back_with_the_outlines_stored_beside_it(small_run,
                                                                            tmp_path):
    url, spot_id = small_run.url, small_run.spot_ids[(0, 0)]  # holds a hand-set sem v1
    image_id = import_sem_file(url, small_run.data_dir, run_id=small_run.run_id,
                               spot_id=spot_id, name="r0c0.tif", data=tiff_bytes(tmp_path),
                               max_bytes=10**7).image_id
    assert sem_image_analysis(url, image_id) == SemImageAnalysis(image_id, None, None, None)
    options = {"sem_image_id": image_id, "sigma_px": 1.0}
    record_analysis(url, spot_id, "sem", parameters=options, results={"count": 5})
    record_analysis(url, spot_id, "sem_outlines", parameters=options,
                    results={"counted": {"x_um": [0.1, None], "y_um": [0.2, None]}})
    record_analysis(url, spot_id, "sem_outlines", parameters={**options, "sigma_px": 2.0},
                    results={"counted": {"x_um": [], "y_um": []}})

    analysis = sem_image_analysis(url, image_id)
    assert (analysis.version, analysis.results) == (2, {"count": 5})  # sem v2, outlines v1
    assert analysis.outlines == {"counted": {"x_um": [0.1, None], "y_um": [0.2, None]}}
    [image] = spot_sem_images(url, spot_id)
    assert (image.image_id, image.original_name) == (image_id, "r0c0.tif")
    with pytest.raises(SemImportError, match="SEM image 999 does not exist"):
        sem_image_analysis(url, 999)


def test_a_preview_finds_spot_and_pixel_size_and_stores_nothing(small_run, tmp_path):
    url, run_id = small_run.url, small_run.run_id
    tiff = preview_sem_file(url, run_id, "r1c0.tif", tiff_bytes(tmp_path), max_bytes=10**7)
    assert (tiff.name, tiff.spot.spot_id, tiff.spot_error, tiff.error) == (
        "r1c0.tif", small_run.spot_ids[(1, 0)], None, None)
    assert tiff.pixel_size_nm == pytest.approx(3.0 * 1.25e3 / 384) and tiff.shape == (384, 384)
    png = preview_sem_file(url, run_id, "a/b/../r5c5.png", png_bytes(), max_bytes=10**7)
    assert (png.name, png.spot, png.pixel_size_nm) == ("r5c5.png", None, None)
    assert png.spot_error.startswith("row 5, col 5 is not in run")
    damaged = preview_sem_file(url, run_id, "spot_3.tif", b"II*\x00" + bytes(40),
                               max_bytes=10**7)
    assert damaged.spot.spot_id == small_run.spot_ids[(1, 0)] and damaged.error
    assert damaged.shape is None
    assert _nothing_stored(small_run)
