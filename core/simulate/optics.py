"""The IRM microscope and camera of the digital twin: illumination, PSF blur, noise, digitisation.

The simulated optical path, in order:

1. **Illumination** ``B(row, col)`` in camera counts above the dark offset: a flat level with
   a slight linear gradient across the field (Köhler illumination is never perfectly even),
   the Au film's static texture (optical-scale grain, blurred by the PSF) and the sensor's
   photo-response non-uniformity (per-pixel gain). All three are fixed for a movie, so they
   vanish when the landing frame is subtracted, as in the lab's pipeline.
2. **Reflectance** ``1 + r(row, col, t)`` of the interface (built by :mod:`core.simulate.movie`);
   the expected signal is ``B·(1 + r)·(1 + flicker_t)``, where ``flicker_t`` is the LED's
   frame-to-frame intensity fluctuation (common to all pixels of a frame).
3. **Blur**: a Gaussian PSF whose FWHM is the Abbe limit ``λ / (2·NA)`` (560 nm / 1.9 ≈ 295 nm
   for the lab's green LED and 0.95 NA objective).
4. **Camera**: Poisson shot noise on the photo-electrons (``signal / gain``; its Gaussian
   limit above 1000 e⁻), Gaussian read noise, a dark offset, rounding and clipping to the
   ``bit_depth`` range, stored as uint16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from core.errors import MeniscusError

#: Mean photo-electron count below which shot noise is drawn from the exact Poisson law.
POISSON_EXACT_BELOW_E = 1000.0
#: FWHM of a Gaussian in units of its standard deviation, 2·sqrt(2·ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class IrmOptics:
    """Microscope and camera parameters, units in the names (the lab's setup by default)."""

    wavelength_nm: float = 560.0
    numerical_aperture: float = 0.95
    #: mean illumination level above the dark offset, camera counts (12-bit camera ~45 % full)
    background_counts: float = 1800.0
    #: relative change of illumination from one edge of the field to the other, along x and y
    illumination_gradient: tuple[float, float] = (0.04, -0.025)
    #: relative sd of the Au film's static texture (blurred by the PSF)
    film_texture_fraction: float = 0.01
    #: relative sd of the per-pixel gain (photo-response non-uniformity)
    prnu_fraction: float = 0.004
    #: relative sd of the LED intensity from frame to frame
    flicker_fraction: float = 0.0005
    #: camera conversion gain, counts per photo-electron
    gain_counts_per_electron: float = 0.25
    read_noise_counts: float = 2.0
    dark_offset_counts: float = 100.0

    def psf_fwhm_nm(self) -> float:
        """FWHM of the Gaussian PSF, nm: the Abbe limit λ / (2·NA)."""
        return self.wavelength_nm / (2.0 * self.numerical_aperture)

    def psf_sigma_px(self, pixel_size_nm: float) -> float:
        """Standard deviation of the Gaussian PSF in pixels of ``pixel_size_nm``."""
        return self.psf_fwhm_nm() / FWHM_PER_SIGMA / pixel_size_nm


#: The lab's microscope: 60×/0.95 NA objective, green LED, 12-bit sCMOS-like camera.
LAB_OPTICS = IrmOptics()


def blur(image: np.ndarray, sigma_px: float, *, mode: str = "reflect") -> np.ndarray:
    """Blur the last two axes of ``image`` with a Gaussian PSF of ``sigma_px`` pixels.

    Parameters
    ----------
    image : (..., rows, cols) ndarray
        One image or a stack; leading axes (frames) are not mixed.
    sigma_px : float
        PSF standard deviation, pixels.
    mode : str
        Edge handling of :func:`scipy.ndimage.gaussian_filter`: "reflect" (default; a flat
        image stays flat) or "constant" (zero outside: for sources that lie inside the image).

    Returns
    -------
    (..., rows, cols) ndarray, float32
        Blurred copy.
    """
    sigma = (0.0,) * (image.ndim - 2) + (sigma_px, sigma_px)
    return gaussian_filter(np.asarray(image, dtype=np.float32), sigma=sigma, mode=mode)


def illumination_counts(
    shape: tuple[int, int], *, pixel_size_nm: float, optics: IrmOptics, rng: np.random.Generator
) -> np.ndarray:
    """Static illumination map ``B``: expected counts above the dark offset for reflectance 1.

    Parameters
    ----------
    shape : (rows, cols)
        Frame size, pixels.
    pixel_size_nm : float
        Pixel size in the sample plane, nm (sets the scale of the film texture).
    optics : IrmOptics
        Illumination level, gradient, film texture and PRNU.
    rng : numpy.random.Generator
        Source of the texture and PRNU.

    Returns
    -------
    (rows, cols) ndarray, float32
        Counts; mean close to ``optics.background_counts``.
    """
    rows, cols = shape
    y = np.linspace(-0.5, 0.5, rows, dtype=np.float32)[:, None]
    x = np.linspace(-0.5, 0.5, cols, dtype=np.float32)[None, :]
    gx, gy = optics.illumination_gradient
    level = optics.background_counts * (1.0 + gx * x + gy * y)
    texture = blur(rng.standard_normal(shape, dtype=np.float32), optics.psf_sigma_px(pixel_size_nm))
    texture /= max(float(texture.std()), 1e-12)
    prnu = rng.standard_normal(shape, dtype=np.float32)
    gain = (1.0 + optics.film_texture_fraction * texture) * (1.0 + optics.prnu_fraction * prnu)
    return (level * gain).astype(np.float32)


def flicker_factors(n_frames: int, *, optics: IrmOptics, rng: np.random.Generator) -> np.ndarray:
    """Per-frame LED intensity factors ``1 + flicker_t``, shape (n_frames,), float32."""
    noise = rng.standard_normal(n_frames, dtype=np.float32)
    return (1.0 + optics.flicker_fraction * noise).astype(np.float32)


def expose(
    signal_counts: np.ndarray, *, optics: IrmOptics, bit_depth: int, rng: np.random.Generator
) -> np.ndarray:
    """Digitise expected signals as the camera would: shot + read noise, offset, quantisation.

    Parameters
    ----------
    signal_counts : (..., rows, cols) ndarray
        Expected signal above the dark offset, counts (negative values are treated as 0).
    optics : IrmOptics
        Gain, read noise and dark offset.
    bit_depth : int
        ADC resolution, bits (1–16); values are clipped to ``[0, 2**bit_depth − 1]``.
    rng : numpy.random.Generator
        Source of the shot and read noise.

    Returns
    -------
    (..., rows, cols) ndarray, uint16
        Raw frames in counts.
    """
    if not 1 <= bit_depth <= 16:
        raise MeniscusError(f"bit_depth {bit_depth} is outside the uint16 camera range 1–16 bits")
    gain = np.float32(optics.gain_counts_per_electron)
    read = np.float32(optics.read_noise_counts)
    signal = np.maximum(np.asarray(signal_counts, dtype=np.float32), 0.0)
    # Shot noise (Poisson, variance gain·signal in counts²) plus read noise, drawn as one
    # Gaussian where the mean exceeds POISSON_EXACT_BELOW_E electrons (skew 1/√λ ≤ 3 %,
    # invisible after rounding), because exact Poisson draws would dominate a movie's run time.
    counts = signal + np.sqrt(gain * signal + read * read) * rng.standard_normal(
        signal.shape, dtype=np.float32
    )
    dim = signal < POISSON_EXACT_BELOW_E * gain
    if dim.any():
        electrons = rng.poisson(signal[dim] / gain).astype(np.float32)
        counts[dim] = electrons * gain + read * rng.standard_normal(
            electrons.size, dtype=np.float32
        )
    counts += np.float32(optics.dark_offset_counts)
    np.rint(counts, out=counts)
    np.clip(counts, 0.0, float(2**bit_depth - 1), out=counts)
    return counts.astype(np.uint16)
