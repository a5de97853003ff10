"""The SEM analysis of an imported image, stored as two analysis kinds of its spot.

Runs :func:`core.analysis.sem.analyse_sem` on a registered
:class:`~core.storage.models.SemImage` (checked against its SHA-256) and gives

- ``sem``: the particle statistics (``count``, ``density_per_cm2``, ``mean_diameter_nm``,
  edge and centre, histogram and fit, faradaic efficiency when the spot's charge is known)
  with ``sem_image_id``, ``original_name``, ``image_shape`` and the pixel size and its source;
- ``sem_outlines`` (same parameters): the particle outlines as polygons for display
  (:func:`core.results.sem_view.particle_outlines`) and the footprint circle. Kept apart so
  that a heatmap of density over 10,000 spots never makes the database parse them.

The options are those of ``analyse_sem`` that are plain values, plus ``sem_image_id`` (which
image: required, so a new image makes a new version) and ``pixel_size_nm`` (None: from the
file). The passed charge (|I|·duration) and the expected footprint diameter (from the area
I / j) come from the spot when it was galvanostatic.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from dataclasses import dataclass
from pathlib import Path

from core.errors import AnalysisError, SemImageFileError
from core.io.sem_pictures import read_sem_picture
from core.results.metrics import SEM
from core.results.sem_import import SEM_OUTLINES, SemImportError
from core.results.sem_view import particle_outlines
from core.storage.db import session_scope
from core.storage.models import SemImage

#: options of ``analyse_sem`` that come from the image or the spot, not from the user
_NOT_OPTIONS = ("pixel_size_nm", "footprint", "passed_charge_C")


@dataclass(frozen=True)
class SemSpot:
    """What the SEM analysis takes from the spot: its current (A), current density (mA/cm²)
    and duration (s), each None when unknown."""

    current_A: float | None = None
    current_density_mA_cm2: float | None = None
    duration_s: float | None = None

    def passed_charge_C(self) -> float | None:
        if self.current_A and self.duration_s:
            return abs(self.current_A) * self.duration_s
        return None

    def footprint_diameter_um(self) -> float | None:
        if self.current_A and self.current_density_mA_cm2:
            area_cm2 = abs(self.current_A) / (abs(self.current_density_mA_cm2) * 1e-3)
            return 2e4 * math.sqrt(area_cm2 / math.pi)
        return None


def sem_defaults() -> dict:
    """Default options of the ``sem`` kind (those of ``analyse_sem`` plus the image's)."""
    from core.analysis.sem import analyse_sem

    options = {"sem_image_id": None, "pixel_size_nm": None}
    for name, parameter in inspect.signature(analyse_sem).parameters.items():
        if (parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in _NOT_OPTIONS
                and parameter.default is not inspect.Parameter.empty):
            options[name] = parameter.default
    return options


def analyse_sem_image(
    url: str, data_dir: str | Path, spot_id: int, options: dict, spot: SemSpot = SemSpot()
) -> dict[str, dict]:
    """Analyse the image ``options["sem_image_id"]`` of ``spot_id``.

    Returns
    -------
    dict
        ``{"sem": results, "sem_outlines": results}``.

    Raises
    ------
    SemImportError
        No image named, or not an image of this spot, or its file is missing or changed.
    AnalysisError
        The image cannot be analysed (unreadable, no pixel size, no footprint...): the same
        image and options fail the same way, so the caller stores the reason.
    """
    options = dict(options)
    image_id = options.pop("sem_image_id", None)
    pixel_size_nm = options.pop("pixel_size_nm", None)
    if image_id is None:
        raise SemImportError(f"spot {spot_id}: the sem analysis needs sem_image_id "
                             f"(the imported image to analyse)")
    path, name = _checked_image(url, data_dir, spot_id, int(image_id))
    try:
        picture = read_sem_picture(path, pixel_size_nm=pixel_size_nm)
    except SemImageFileError as error:
        raise AnalysisError(f"{name}: {error.problem}") from None
    if picture.pixel_size_nm is None:
        raise AnalysisError(f"{name}: the file records no pixel size; give pixel_size_nm")
    from core.analysis.sem import analyse_sem

    if options.get("expected_footprint_diameter_um") is None:
        options["expected_footprint_diameter_um"] = spot.footprint_diameter_um()
    result = analyse_sem(picture.image, pixel_size_nm=picture.pixel_size_nm,
                         passed_charge_C=spot.passed_charge_C(), **options)
    about = {"sem_image_id": int(image_id), "original_name": name,
             "image_shape": list(picture.image.shape), "pixel_size_nm": picture.pixel_size_nm,
             "pixel_size_source": picture.pixel_size_source}
    outlines = particle_outlines(result.labels, result.counted_labels,
                                 pixel_size_nm=picture.pixel_size_nm)
    footprint = {**result.footprint.to_dict(), "ring_fraction": options.get("ring_fraction")}
    return {SEM: {**result.to_dict(), **about},
            SEM_OUTLINES: {**about, "footprint": footprint, **outlines}}


def _checked_image(url: str, data_dir, spot_id: int, image_id: int) -> tuple[Path, str]:
    with session_scope(url) as session:
        image = session.get(SemImage, image_id)
        if image is None or image.spot_id != spot_id:
            raise SemImportError(f"SEM image {image_id} is not an image of spot {spot_id}")
        path, sha256, name = Path(data_dir) / image.path, image.sha256, image.original_name
    if not path.is_file():
        raise SemImportError(f"{name}: the stored file {path} of SEM image {image_id} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise SemImportError(f"{name}: SHA-256 {digest[:12]}… of {path} does not match the "
                             f"recorded {sha256[:12]}… (file changed after import)")
    return path, name
