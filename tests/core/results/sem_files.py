"""SEM image files of a footprint for the import tests, made by the twin (deterministic)."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image

from core.io.image_writers import write_sem_tiff
from core.simulate.sem import SimulatedSem, simulate_sem

#: the small run's footprint diameter, µm
FOOTPRINT_UM = 3.0


@lru_cache(maxsize=4)
def simulated_footprint(seed: int = 1) -> SimulatedSem:
    """A 384 × 384 px SEM image of a 3 µm footprint plated at 0.78 mA/cm² for 15 s."""
    return simulate_sem(current_density_mA_cm2=0.78, duration_s=15.0,
                        footprint_diameter_um=FOOTPRINT_UM, shape=(384, 384), seed=seed)


def tiff_bytes(folder: Path, seed: int = 1) -> bytes:
    """The simulated image as a TIFF whose resolution tags give its pixel size."""
    sem = simulated_footprint(seed)
    path = folder / f"sem_{seed}.tif"
    write_sem_tiff(path, sem.image, pixel_size_nm=sem.pixel_size_nm)
    data = path.read_bytes()
    path.unlink()
    return data


def png_bytes(seed: int = 1) -> bytes:
    """The simulated image as a PNG (no pixel size in it)."""
    buffer = io.BytesIO()
    Image.fromarray(simulated_footprint(seed).image).save(buffer, format="PNG")
    return buffer.getvalue()
