from tests.components.tree import text


def test_unknown_addresses_point_back_home(page):
    words = text(page("not_found_404").layout())
    assert "Nothing here" in words and "Back to the experiments" in words
