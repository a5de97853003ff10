"""Where the Li nanoparticles of one simulated landing sit and how big they are.

The population follows :class:`~core.simulate.physics.PlatingPhysics`: the passed charge
``Q = j·t·A`` times the faradaic efficiency ``FE(j)`` gives the deposited Li volume
``V = FE·Q·M/(F·ρ)``; ``N ≈ n(j)·A`` particles share it. The shape of the size distribution and
the edge/centre contrast come from :class:`DepositMorphology`, fitted to the article's SEM
findings (Martín-Yerga et al., ACS Nano 2024, Table 1 and Figure 7):

- 0.20 mA/cm²: larger particles at the meniscus edge (92 ± 45 nm) than in the centre
  (59 ± 14 nm), density only slightly higher at the edge (1.22 vs 1.08 × 10⁹ /cm²);
- 0.78 mA/cm²: uniform sizes (80 ± 23 nm) and density;
- 3.82 mA/cm²: uniform sizes (48 ± 23 nm) but a denser centre (3.2 vs 1.5 × 10⁹ /cm²).

The article's two populations at 0.20 mA/cm² are read as edge and centre particles. Only the
*shape* (ratios and relative spreads) is taken from these numbers: sizes are log-normal in each
region, scaled together so that the spheres hold exactly ``V``. With the shared physics and a
10 µm footprint that gives means of about 66, 60 and 41 nm at 0.20, 0.78 and 3.82 mA/cm², below
the article's 80 and 48 nm: Table 1's deposited Li (70.9 fmol at 0.78 mA/cm²) with its density
and sizes implies a footprint of about 14 µm, and with its faradaic efficiency about 22 µm, so
the article's numbers cannot all hold for one 10 µm disc.

Positions are uniform in each region with a hard-core gap (so that only the deliberately placed
touching pairs touch). Lengths are in µm, diameters in nm, coordinates ``x`` along columns and
``y`` along rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from core.analysis.sem import li_in_spheres_fmol
from core.errors import MeniscusError
from core.simulate.physics import PlatingPhysics
from core.units import FARADAY_C_PER_MOL, LI_DENSITY_G_PER_CM3, LI_MOLAR_MASS_G_PER_MOL

_NM3_IN_CM3 = 1e-21
_FMOL_PER_MOL = 1e15
# Rounds of re-drawing and re-placing before the population is declared impossible to build.
_MAX_ROUNDS = 60


@dataclass(frozen=True)
class DepositMorphology:
    """Size-distribution shape and edge/centre contrast, as functions of current density.

    Each tuple gives values at ``anchor_j_mA_cm2``; between anchors the value is interpolated
    linearly in log j, outside them it is held constant. The edge region is the outer
    ``edge_fraction`` of the footprint radius.
    """

    anchor_j_mA_cm2: tuple = (0.20, 0.78, 3.82)
    #: areal density at the edge / in the centre
    edge_density_ratio: tuple = (1.13, 1.0, 0.47)
    #: mean diameter at the edge / in the centre
    edge_size_ratio: tuple = (1.56, 1.0, 1.0)
    #: relative sd (sd/mean) of the diameters in the centre and at the edge
    centre_size_cv: tuple = (0.24, 0.29, 0.48)
    edge_size_cv: tuple = (0.49, 0.29, 0.48)
    edge_fraction: float = 0.2

    def at(self, j_mA_cm2: float) -> dict:
        """All parameters at one current density, as a dict of floats."""
        log_j = np.log(np.asarray(self.anchor_j_mA_cm2, dtype=float))
        x = float(np.log(j_mA_cm2))
        names = (
            "edge_density_ratio",
            "edge_size_ratio",
            "centre_size_cv",
            "edge_size_cv",
        )
        return {name: float(np.interp(x, log_j, getattr(self, name))) for name in names}


#: Morphology fitted to the article's three constant-charge experiments.
ARTICLE_MORPHOLOGY = DepositMorphology()


@dataclass(frozen=True)
class Deposit:
    """Particles of one landing (inside and outside the footprint) and their accounting.

    Attributes
    ----------
    x_um, y_um : (P,) ndarray
        Particle centres, µm from the centre of pixel (0, 0); x along columns, y along rows.
    diameter_nm : (P,) ndarray
        Sphere diameters, nm.
    inside : (P,) bool ndarray
        True for the plated particles inside the footprint (the ones the analysis counts).
    edge : (P,) bool ndarray
        True for inside particles in the edge region.
    touching : (P,) bool ndarray
        True for particles placed touching another one (the second member of each pair).
    passed_charge_C, deposited_fmol : float
        Charge passed through the footprint and Li held by the inside particles.
    """

    x_um: np.ndarray
    y_um: np.ndarray
    diameter_nm: np.ndarray
    inside: np.ndarray
    edge: np.ndarray
    touching: np.ndarray
    passed_charge_C: float
    deposited_fmol: float


def plate_deposit(
    rng: np.random.Generator,
    *,
    physics: PlatingPhysics,
    morphology: DepositMorphology,
    current_density_mA_cm2: float,
    duration_s: float,
    centre_um: tuple[float, float],
    radius_um: float,
    field_um: tuple[float, float],
    min_diameter_nm: float,
    max_diameter_nm: float,
    gap_nm: float,
    touching_fraction: float,
    n_outside: int,
    keep_out: list[tuple[float, float, float]],
) -> Deposit:
    """Draw the particle population of one landing.

    Parameters
    ----------
    centre_um, radius_um : footprint centre (x, y) and radius, µm.
    field_um : (width, height) of the imaged field, µm.
    min_diameter_nm, max_diameter_nm : diameters are re-drawn until they lie in this range
        (what the imaging can resolve, and safely below the analysis' large-particle cut).
    gap_nm : least edge-to-edge distance between particles that are not a touching pair.
    touching_fraction : fraction of inside particles placed touching a neighbour.
    n_outside : stray particles drawn outside the footprint (they must not be counted).
    keep_out : discs ``(x_um, y_um, r_um)`` no particle may overlap (the large blobs).
    """
    j = float(current_density_mA_cm2)
    area_cm2 = np.pi * (radius_um * 1e-4) ** 2
    passed_C = j * 1e-3 * duration_s * area_cm2
    deposited_mol = float(physics.faradaic_efficiency(j)) * passed_C / FARADAY_C_PER_MOL
    volume_nm3 = deposited_mol * LI_MOLAR_MASS_G_PER_MOL / LI_DENSITY_G_PER_CM3 / _NM3_IN_CM3

    shape = morphology.at(j)
    inner_fraction = (1.0 - morphology.edge_fraction) ** 2
    mean_count = float(physics.particle_density_per_cm2(j)) * area_cm2
    # Split the expected count so the footprint-average density stays n(j).
    centre_share = inner_fraction / (
        inner_fraction + shape["edge_density_ratio"] * (1.0 - inner_fraction)
    )
    centre_count = int(rng.poisson(mean_count * centre_share))
    edge_count = int(rng.poisson(mean_count * (1.0 - centre_share)))
    n_inside = int(centre_count + edge_count)
    if n_inside == 0:
        raise MeniscusError(
            f"no particles expected at {j} mA/cm² on a {2 * radius_um} µm footprint "
            f"(n = {mean_count:.3g}); use a larger footprint or current density"
        )
    is_edge = np.zeros(n_inside, dtype=bool)
    is_edge[centre_count:] = True

    diameter = _scaled_diameters(rng, is_edge, shape, volume_nm3, min_diameter_nm, max_diameter_nm)
    inside_x, inside_y, touching = _place_inside(
        rng,
        diameter_nm=diameter,
        is_edge=is_edge,
        centre_um=centre_um,
        radius_um=radius_um,
        inner_radius_um=radius_um * (1.0 - morphology.edge_fraction),
        gap_um=gap_nm * 1e-3,
        touching_fraction=touching_fraction,
        keep_out=keep_out,
    )
    out_d = diameter[rng.integers(0, n_inside, size=n_outside)] if n_outside else np.empty(0)
    out_x, out_y = _place_outside(rng, n_outside, out_d, centre_um, radius_um, field_um)
    inside = np.r_[np.ones(n_inside, bool), np.zeros(n_outside, bool)]
    return Deposit(
        x_um=np.r_[inside_x, out_x],
        y_um=np.r_[inside_y, out_y],
        diameter_nm=np.r_[diameter, out_d],
        inside=inside,
        edge=np.r_[is_edge, np.zeros(n_outside, bool)],
        touching=np.r_[touching, np.zeros(n_outside, bool)],
        passed_charge_C=passed_C,
        deposited_fmol=li_in_spheres_fmol(diameter),
    )


def _scaled_diameters(rng, is_edge, shape, volume_nm3, min_d, max_d) -> np.ndarray:
    """Log-normal diameters per region, scaled so that the spheres hold ``volume_nm3``.

    The scale depends on the draws and the redraws on the scale, so both are iterated; a few
    rounds settle because only the rare tails are redrawn.
    """
    rel_mean = np.where(is_edge, shape["edge_size_ratio"], 1.0)
    cv = np.where(is_edge, shape["edge_size_cv"], shape["centre_size_cv"])
    sigma = np.sqrt(np.log1p(cv**2))
    mu = np.log(rel_mean) - sigma**2 / 2  # unit mean in the centre
    rel = np.exp(mu + sigma * rng.standard_normal(is_edge.size))
    for _ in range(_MAX_ROUNDS):
        scale = np.cbrt(volume_nm3 / np.sum(np.pi / 6.0 * rel**3))
        bad = (rel * scale < min_d) | (rel * scale > max_d)
        if not bad.any():
            return rel * scale
        rel[bad] = np.exp(mu[bad] + sigma[bad] * rng.standard_normal(int(bad.sum())))
    raise MeniscusError(
        f"cannot fit the deposited volume {volume_nm3:.3g} nm³ into {is_edge.size} particles "
        f"between {min_d:.3g} and {max_d:.3g} nm; change pixel size or conditions"
    )


def _uniform_in_annulus(rng, centre_um, r_min, r_max):
    """Points uniform in area between radii ``r_min`` and ``r_max`` (arrays, µm)."""
    radius = np.sqrt(rng.uniform(r_min**2, r_max**2))
    angle = rng.uniform(0.0, 2.0 * np.pi, size=radius.shape)
    return centre_um[0] + radius * np.cos(angle), centre_um[1] + radius * np.sin(angle)


def _place_inside(
    rng,
    *,
    diameter_nm,
    is_edge,
    centre_um,
    radius_um,
    inner_radius_um,
    gap_um,
    touching_fraction,
    keep_out,
):
    """Hard-core random placement, plus touching pairs; vectorised rounds of conflict removal.

    Particles that conflict (closer than the sum of radii plus ``gap_um``) are re-drawn until
    none do; a touching particle is re-drawn beside its partner, and its partner is exempt.
    """
    n = diameter_nm.size
    r_um = diameter_nm * 5e-4
    # A particle stays wholly inside its region, so the region it was drawn for is unambiguous.
    lo = np.where(is_edge, inner_radius_um, 0.0)
    hi = np.where(is_edge, radius_um, inner_radius_um)
    lo = np.where(is_edge, lo + r_um, lo)
    hi = hi - r_um
    partner = np.full(n, -1)
    # Pairs are drawn within each region, so both members stay in the region they belong to.
    for members in (np.flatnonzero(~is_edge), np.flatnonzero(is_edge)):
        n_pairs = min(round(touching_fraction * members.size / 2), members.size // 2)
        if n_pairs:
            chosen = rng.choice(members, size=2 * n_pairs, replace=False)
            partner[chosen[n_pairs:]] = chosen[:n_pairs]
    touching = partner >= 0
    x = np.empty(n)
    y = np.empty(n)
    pending = np.ones(n, dtype=bool)
    blob = np.asarray(keep_out, dtype=float).reshape(-1, 3)
    for _ in range(_MAX_ROUNDS):
        free = pending & ~touching
        x[free], y[free] = _uniform_in_annulus(
            rng, centre_um, lo[free], np.maximum(hi[free], lo[free])
        )
        stuck = pending & touching
        if stuck.any():
            p = partner[stuck]
            angle = rng.uniform(0, 2 * np.pi, size=p.size)
            # Centre distance 1.0–1.08 × (r₁ + r₂): in contact or a hair apart, which the
            # blur and threshold merge into one component with a neck.
            dist = (r_um[stuck] + r_um[p]) * rng.uniform(1.0, 1.08, size=p.size)
            x[stuck] = x[p] + dist * np.cos(angle)
            y[stuck] = y[p] + dist * np.sin(angle)
        radial = np.hypot(x - centre_um[0], y - centre_um[1])
        moved = pending
        pending = (radial < lo) | (radial > hi)
        pending |= _conflicts(x, y, r_um, gap_um, partner, blob, moved)
        # A pair moves together: a touching particle that does not fit beside its partner
        # (region edge, neighbours) re-draws the partner too, and follows it when it moves.
        pending[partner[pending & touching]] = True
        pending |= touching & pending[np.maximum(partner, 0)]
        if not pending.any():
            return x, y, touching
    raise MeniscusError(
        f"cannot place {n} particles without overlap on a {2 * radius_um:.3g} µm footprint; "
        "the coverage is too high for the twin"
    )


def _conflicts(x, y, r_um, gap_um, partner, blob, moved) -> np.ndarray:
    """Particles to re-draw: one of each too-close pair, and any overlapping a blob.

    Of a too-close pair the one just ``moved`` is re-drawn (settled particles stay put, so
    the rounds converge); if both or neither moved, the one with the higher index.
    """
    points = np.column_stack([x, y])
    tree = cKDTree(points)
    pairs = tree.query_pairs(2 * r_um.max() + gap_um, output_type="ndarray")
    redo = np.zeros(x.size, dtype=bool)
    if pairs.size:
        i, j = pairs[:, 0], pairs[:, 1]
        distance = np.hypot(x[i] - x[j], y[i] - y[j])
        is_pair = (partner[i] == j) | (partner[j] == i)
        close = (distance < r_um[i] + r_um[j] + gap_um) & ~is_pair
        i, j = i[close], j[close]
        later = np.maximum(i, j)
        redo[np.where(moved[i] == moved[j], later, np.where(moved[i], i, j))] = True
    for bx, by, br in blob:
        redo |= np.hypot(x - bx, y - by) < br + r_um + gap_um
    return redo


def _place_outside(rng, n, diameter_nm, centre_um, radius_um, field_um):
    """Stray particles in the field but clearly outside the footprint and its residue ring."""
    if n == 0:
        return np.empty(0), np.empty(0)
    xs, ys = [], []
    margin = 0.1 * radius_um + 0.15
    border = 0.1
    for _ in range(_MAX_ROUNDS):
        x = rng.uniform(border, field_um[0] - border, size=4 * n)
        y = rng.uniform(border, field_um[1] - border, size=4 * n)
        keep = np.hypot(x - centre_um[0], y - centre_um[1]) > radius_um + margin
        xs.extend(x[keep])
        ys.extend(y[keep])
        if len(xs) >= n:
            return np.asarray(xs[:n]), np.asarray(ys[:n])
    raise MeniscusError(
        f"the field {field_um[0]:.3g} × {field_um[1]:.3g} µm leaves no room outside the "
        f"footprint (radius {radius_um:.3g} µm) for {n} stray particles"
    )
