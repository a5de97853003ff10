"""SEM images of footprints: which spot a file shows, registering it, and reading its analysis.

Spot from the file name (:func:`parse_grid_index`), using the grid's own indices, counted
from 0:

- row and column, as the Spot page shows them: ``r03c12``, ``R3C12``, ``r3_c12``,
  ``row3_col12``, ``row-3-col-12``;
- visiting order: ``spot_0042``, ``spot42``, ``idx42``, ``index-42`` (the Spot page's
  "visit 43").

A name naming two different places is ambiguous and refused; a place outside the run's grid
is refused with the grid's extent. A file without an index is assigned by hand.

An imported file is stored under a generated name (:mod:`core.storage.uploads`), read once to
check it and find its pixel size, then recorded as a :class:`~core.storage.models.SemImage` of
a measured spot. A failure at any step deletes the stored file: no half-registered image. Its
analysis (the ``sem`` kind, :mod:`core.results.sem_analysis`) is the analysis workers' job.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from core.errors import MeniscusError, SemImageFileError
from core.io.sem_pictures import read_sem_picture
from core.results.metrics import SEM
from core.storage.db import session_scope
from core.storage.models import Analysis, Measurement, SemImage, Spot
from core.storage.uploads import (
    StoredUpload,
    UploadRefused,
    discard_upload,
    display_name,
    store_upload,
)

#: the uploads folder category of SEM images (``<data_dir>/uploads/sem``)
UPLOAD_CATEGORY = "sem"
#: the analysis kind holding the particle outlines of a ``sem`` analysis (kept apart so that
#: heatmap queries never parse them; see :mod:`core.results.sem_analysis`)
SEM_OUTLINES = "sem_outlines"

_SEP = r"[\s_\-.]?"
_ROW_COL = (
    re.compile(rf"(?<![a-z0-9])r{_SEP}(\d{{1,5}}){_SEP}c{_SEP}(\d{{1,5}})(?![0-9])"),
    re.compile(rf"(?<![a-z0-9])row{_SEP}(\d{{1,5}}){_SEP}col(?:umn)?{_SEP}(\d{{1,5}})(?![0-9])"),
)
_ORDER = re.compile(rf"(?<![a-z0-9])(?:spot|idx|index){_SEP}(\d{{1,6}})(?![0-9])")


class SemImportError(MeniscusError):
    """An SEM image cannot be imported: no or an ambiguous spot, a bad file, a wrong run."""


@dataclass(frozen=True)
class GridIndex:
    """A place named by a file: ``row`` and ``col``, or the visiting ``order`` (0-based)."""

    row: int | None = None
    col: int | None = None
    order: int | None = None

    def describe(self) -> str:
        if self.order is not None:  # the Spot page counts visits from 1
            return f"order index {self.order} (visit {self.order + 1})"
        return f"row {self.row}, col {self.col}"


@dataclass(frozen=True)
class SpotChoice:
    """A spot an SEM image can be registered to (a measured spot of the run)."""

    spot_id: int
    order: int
    row: int | None
    col: int | None
    condition: str
    state: str

    @property
    def label(self) -> str:
        place = f"r{self.row}c{self.col}" if self.row is not None else f"spot {self.order}"
        return f"{place} · {self.condition} ({self.state.replace('_', ' ')})"


@dataclass(frozen=True)
class SemUpload:
    """One file to import: its name as sent, its bytes, the spot (None: from the name) and
    the pixel size in nm (None: from the file's metadata)."""

    name: str
    data: bytes
    spot_id: int | None = None
    pixel_size_nm: float | None = None


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one file: its image id, or the error that stopped it."""

    name: str
    spot_id: int | None
    image_id: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class FilePreview:
    """What a dropped file is, before it is imported: its spot (from its name) and pixel size
    (from its metadata), or why it cannot be imported (``error``) or placed (``spot_error``).
    """

    name: str
    size_bytes: int
    spot: SpotChoice | None = None
    spot_error: str | None = None
    pixel_size_nm: float | None = None
    pixel_size_source: str | None = None
    shape: tuple[int, int] | None = None
    error: str | None = None


@dataclass(frozen=True)
class ImportedImage:
    """An SEM image stored and registered to a spot."""

    image_id: int
    spot_id: int
    display_name: str
    pixel_size_nm: float | None
    pixel_size_source: str | None


@dataclass(frozen=True)
class ImageStatus:
    """Where the analysis of one imported image stands: ``queued``, ``done`` or ``failed``,
    with the counted particles, density (/cm²) and mean diameter (nm) when done."""

    image_id: int
    spot_id: int
    state: str
    count: int | None = None
    density_per_cm2: float | None = None
    mean_diameter_nm: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class SpotSemImage:
    """An image imported for a spot (newest first in :func:`spot_sem_images`)."""

    image_id: int
    original_name: str
    uploaded_by: str
    created_at: datetime

    @property
    def label(self) -> str:
        by = f" by {self.uploaded_by}" if self.uploaded_by else ""
        return f"{self.original_name} ({self.created_at:%Y-%m-%d %H:%M}{by})"


@dataclass(frozen=True)
class SemImageAnalysis:
    """The latest analysis of one image: ``sem`` results (and their version) with the
    ``sem_outlines`` stored with them; ``results`` None while it is queued."""

    image_id: int
    version: int | None
    results: dict | None
    outlines: dict | None


def parse_grid_index(name: str) -> GridIndex | None:
    """The grid place a file name names, or None when it names none.

    Raises :class:`SemImportError` when it names two different places.
    """
    stem = Path(display_name(name)).stem.lower()
    found = {GridIndex(row=int(m[1]), col=int(m[2]))
             for pattern in _ROW_COL for m in pattern.finditer(stem)}
    found |= {GridIndex(order=int(m[1])) for m in _ORDER.finditer(stem)}
    if len(found) > 1:
        places = " and ".join(sorted(index.describe() for index in found))
        raise SemImportError(f"{display_name(name)}: the name is ambiguous ({places}); "
                             f"pick the spot by hand")
    return next(iter(found), None)


def find_spot(url: str, run_id: int, index: GridIndex, *, name: str = "") -> SpotChoice:
    """The spot of run ``run_id`` at ``index``; :class:`SemImportError` when the grid has no
    such place (the message gives the grid's extent) or the spot was never measured."""
    label = f"{display_name(name)}: " if name else ""
    with session_scope(url) as session:
        query = select(Spot).where(Spot.run_id == run_id)
        if index.order is not None:
            spot = session.scalar(query.where(Spot.order == index.order))
        else:
            spot = session.scalar(query.where(Spot.row == index.row, Spot.col == index.col))
        if spot is None:
            raise SemImportError(f"{label}{index.describe()} is not in run {run_id}'s grid "
                                 f"({_extent(session, run_id)})")
        choice = _choice(spot)
        measured = spot.measurement is not None
    if not measured:
        raise SemImportError(f"{label}{index.describe()} was never measured (state "
                             f"{choice.state.replace('_', ' ')}): no footprint to image")
    return choice


def spot_for_file(url: str, run_id: int, name: str, spot_id: int | None = None) -> int:
    """``spot_id`` when given, else the spot the file name names (:func:`parse_grid_index`);
    :class:`SemImportError` when the name names none."""
    if spot_id is not None:
        return spot_id
    index = parse_grid_index(name)
    if index is None:
        raise SemImportError(f"{display_name(name)}: the name gives no grid index (such as "
                             f"r3c12, row3_col12 or spot42); pick the spot by hand")
    return find_spot(url, run_id, index, name=name).spot_id


def preview_sem_file(url: str, run_id: int, name: str, data: bytes, *,
                     max_bytes: int) -> FilePreview:
    """Check a dropped file (size, type, content, that it reads) in a temporary folder and
    find its spot and pixel size; nothing is stored."""
    shown = display_name(name)
    spot, spot_error = None, None
    try:
        index = parse_grid_index(name)
        if index is None:
            spot_error = "no grid index in the name: pick the spot"
        else:
            spot = find_spot(url, run_id, index, name=name)
    except SemImportError as error:
        spot_error = str(error).removeprefix(f"{shown}: ")
    try:
        with tempfile.TemporaryDirectory(prefix="meniscus-sem-") as folder:
            stored = store_upload(folder, UPLOAD_CATEGORY, name, data, max_bytes=max_bytes)
            picture = read_sem_picture(Path(folder) / stored.path)
    except UploadRefused as error:
        return FilePreview(shown, len(data), spot, spot_error,
                           error=str(error).removeprefix(f"{shown}: "))
    except SemImageFileError as error:
        return FilePreview(shown, len(data), spot, spot_error, error=error.problem)
    return FilePreview(shown, len(data), spot, spot_error, picture.pixel_size_nm,
                       picture.pixel_size_source, picture.image.shape)


def spot_choices(url: str, run_id: int) -> list[SpotChoice]:
    """The measured spots of a run in visiting order (those an image can be registered to)."""
    with session_scope(url) as session:
        spots = session.scalars(
            select(Spot).join(Measurement, Measurement.spot_id == Spot.id)
            .where(Spot.run_id == run_id).order_by(Spot.order))
        return [_choice(spot) for spot in spots]


def import_sem_file(
    url: str,
    data_dir: str | Path,
    *,
    run_id: int,
    spot_id: int,
    name: str,
    data: bytes,
    max_bytes: int,
    pixel_size_nm: float | None = None,
    uploaded_by: str = "",
) -> ImportedImage:
    """Store an uploaded SEM image, check that it reads, and register it to a measured spot
    of ``run_id``. Nothing is left behind when any step fails.

    Raises
    ------
    core.storage.uploads.UploadRefused
        Too large, empty, an extension not allowed, or not the format it claims.
    SemImportError
        The file does not read as an image or records no pixel size (and none is given), or
        the spot is not a measured spot of the run.
    """
    _check_spot(url, run_id, spot_id, name)
    stored = store_upload(data_dir, UPLOAD_CATEGORY, name, data, max_bytes=max_bytes)
    try:
        try:
            picture = read_sem_picture(Path(data_dir) / stored.path,
                                       pixel_size_nm=pixel_size_nm)
        except SemImageFileError as error:
            raise SemImportError(f"{stored.display_name}: {error.problem}") from None
        if picture.pixel_size_nm is None:
            raise SemImportError(f"{stored.display_name}: the file records no pixel size; "
                                 f"enter it (nm per pixel)")
        image_id = _register(url, spot_id, stored, uploaded_by)
    except BaseException:
        discard_upload(data_dir, stored)
        raise
    return ImportedImage(image_id, spot_id, stored.display_name, picture.pixel_size_nm,
                         picture.pixel_size_source)


def sem_image_file(url: str, image_id: int) -> tuple[str, str, int]:
    """(path relative to the data folder, SHA-256, spot id) of an imported image."""
    with session_scope(url) as session:
        image = session.get(SemImage, image_id)
        if image is None:
            raise SemImportError(f"SEM image {image_id} does not exist")
        return image.path, image.sha256, image.spot_id


def image_statuses(url: str, image_ids: list[int]) -> list[ImageStatus]:
    """The analysis state of each imported image (latest ``sem`` version naming it)."""
    with session_scope(url) as session:
        spots = dict(session.execute(
            select(SemImage.id, SemImage.spot_id).where(SemImage.id.in_(image_ids))).all())
        rows = session.execute(
            select(Analysis.parameters, Analysis.results)
            .where(Analysis.kind == SEM, Analysis.spot_id.in_(set(spots.values())))
            .order_by(Analysis.version)).all()
    latest = {}
    for parameters, results in rows:
        latest[parameters.get("sem_image_id")] = results
    statuses = []
    for image_id in image_ids:
        if image_id not in spots:
            raise SemImportError(f"SEM image {image_id} does not exist")
        results = latest.get(image_id)
        if results is None:
            statuses.append(ImageStatus(image_id, spots[image_id], "queued"))
        elif "error" in results:
            statuses.append(ImageStatus(image_id, spots[image_id], "failed",
                                        error=results["error"]))
        else:
            statuses.append(ImageStatus(
                image_id, spots[image_id], "done", count=results.get("count"),
                density_per_cm2=results.get("density_per_cm2"),
                mean_diameter_nm=results.get("mean_diameter_nm")))
    return statuses


def spot_sem_images(url: str, spot_id: int) -> list[SpotSemImage]:
    """The SEM images imported for a spot, newest first."""
    with session_scope(url) as session:
        rows = session.execute(
            select(SemImage.id, SemImage.original_name, SemImage.uploaded_by,
                   SemImage.created_at)
            .where(SemImage.spot_id == spot_id).order_by(SemImage.id.desc())).all()
    return [SpotSemImage(*row) for row in rows]


def sem_image_analysis(url: str, image_id: int) -> SemImageAnalysis:
    """The latest ``sem`` analysis of image ``image_id`` with its outlines (from the same
    version); results None when none has been stored yet."""
    with session_scope(url) as session:
        image = session.get(SemImage, image_id)
        if image is None:
            raise SemImportError(f"SEM image {image_id} does not exist")
        versions = session.execute(
            select(Analysis.id, Analysis.kind, Analysis.version, Analysis.parameters)
            .where(Analysis.spot_id == image.spot_id, Analysis.kind.in_((SEM, SEM_OUTLINES)))
            .order_by(Analysis.version.desc())).all()
        of_image = [row for row in versions if row.parameters.get("sem_image_id") == image_id]
        stats = next((row for row in of_image if row.kind == SEM), None)
        if stats is None:
            return SemImageAnalysis(image_id, None, None, None)
        # the two kinds are stored together with the same options, but their version
        # numbers may differ (a spot can hold older sem results without outlines)
        outline_id = next((row.id for row in of_image
                           if row.kind == SEM_OUTLINES and row.parameters == stats.parameters),
                          None)
        results = session.scalar(select(Analysis.results).where(Analysis.id == stats.id))
        outlines = None if outline_id is None else session.scalar(
            select(Analysis.results).where(Analysis.id == outline_id))
    return SemImageAnalysis(image_id, stats.version, results, outlines)


def _check_spot(url: str, run_id: int, spot_id: int, name: str) -> None:
    with session_scope(url) as session:
        spot = session.get(Spot, spot_id)
        if spot is None or spot.run_id != run_id:
            raise SemImportError(
                f"{display_name(name)}: spot {spot_id} is not a spot of run {run_id}")
        if spot.measurement is None:
            raise SemImportError(
                f"{display_name(name)}: spot {spot_id} was never measured (state "
                f"{spot.state.replace('_', ' ')}): no footprint to image")


def _register(url: str, spot_id: int, stored: StoredUpload, uploaded_by: str) -> int:
    with session_scope(url) as session:
        image = SemImage(spot_id=spot_id, path=stored.path, original_name=stored.display_name,
                         sha256=stored.sha256, size_bytes=stored.size_bytes,
                         uploaded_by=uploaded_by)
        session.add(image)
        session.flush()
        return image.id


def _choice(spot: Spot) -> SpotChoice:
    return SpotChoice(spot.id, spot.order, spot.row, spot.col, spot.condition, spot.state)


def _extent(session, run_id: int) -> str:
    rows, cols, orders = session.execute(
        select(func.max(Spot.row), func.max(Spot.col), func.max(Spot.order))
        .where(Spot.run_id == run_id)).one()
    if orders is None:
        return "no spots"
    grid = f"rows 0–{rows}, cols 0–{cols}, " if rows is not None and cols is not None else ""
    return f"{grid}spots 0–{orders}"
