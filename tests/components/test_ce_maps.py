import numpy as np

from components.ce_maps import ce_map_arrays, create_ce_maps_figure

MAPS = {"cycles": [1, 2, 3, 4, 5, 6], "block_px": 2, "pixel_size_nm": 40.0, "step": 0.001,
        "values": [[[250, None], [300, 1200]]] * 6}


def test_stored_integers_become_ce_with_nan_where_masked():
    values = ce_map_arrays(MAPS)
    assert values.shape == (6, 2, 2)
    assert np.isnan(values[0, 0, 1]) and values[0, 1, 1] == 1.2


def test_one_panel_per_cycle_on_one_colour_scale_0_to_1():
    figure = create_ce_maps_figure(MAPS)
    assert len(figure.data) == 6 and {trace.coloraxis for trace in figure.data} == {"coloraxis"}
    assert (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (0.0, 1.0)
    assert [a.text for a in figure.layout.annotations] == [f"cycle {k}" for k in range(1, 7)]
    assert figure.data[0].z[0][1] is None  # masked block left empty
    assert figure.data[0].x == (0.04, 0.12)  # block centres, µm (2 px × 40 nm)
    assert figure.layout.yaxis2.scaleanchor == "x2"
    assert figure.layout.height == 40 + 170 * 2  # 5 maps a row: two rows
