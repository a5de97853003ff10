"""The shared Plotly toolbar options."""

from components.graph_config import GRAPH_CONFIG, PNG_SCALE, download_filename, graph_config


def test_downloads_are_png_at_twice_the_resolution_named_after_the_figure():
    config = graph_config("run 4: E_nuc (V)", scrollZoom=True)
    assert config["toImageButtonOptions"] == {"format": "png", "scale": PNG_SCALE,
                                              "filename": "run_4_E_nuc_V"}
    assert config["scrollZoom"] is True and config["displaylogo"] is False
    assert GRAPH_CONFIG["toImageButtonOptions"]["filename"] == "meniscus_figure"  # unchanged


def test_download_names_keep_no_path_or_odd_characters():
    assert download_filename("../../etc/passwd") == "etc_passwd"
    assert download_filename("...") == "meniscus_figure"
    assert download_filename("ä" * 300) == "meniscus_figure"
    assert len(download_filename("a" * 300)) == 100
