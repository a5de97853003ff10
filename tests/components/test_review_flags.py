from datetime import UTC, datetime

from components.review_flags import (
    FLAG_ADD,
    FLAG_CLEAR,
    create_flag_badge,
    create_flag_buttons,
    create_flag_list,
)
from core.review.flags import FLAG_KINDS, FlagView
from tests.components.tree import find, text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _flag(id, kind, cleared=False, note=""):
    return FlagView(id, 1, 5, kind, note, "ana", AT, AT if cleared else None,
                    "bo" if cleared else None)


def test_active_flags_come_first_with_clear_buttons_and_cleared_ones_say_who_cleared():
    listing = create_flag_list([_flag(1, "other", cleared=True),
                                _flag(2, "thick_deposit", note="dark ring")], can_clear=True)
    words = " ".join(text(listing).split())
    assert words.startswith("thick deposit / contrast inversion — dark ring (ana, 2026-03-01")
    assert "other (ana, 2026-03-01 09:30 UTC; cleared by bo, 2026-03-01 09:30 UTC)" in words
    clears = [c for c in find(listing) if getattr(c, "id", None) and c.id["type"] == FLAG_CLEAR]
    assert [c.id["flag"] for c in clears] == [2]
    read_only = create_flag_list([_flag(2, "other")], can_clear=False)
    assert not [c for c in find(read_only) if getattr(c, "id", None)]
    assert text(create_flag_list([], can_clear=False)) == "Not flagged."


def test_one_button_per_kind_and_badges_with_labels():
    buttons = [c for c in find(create_flag_buttons(enabled=False))
               if isinstance(getattr(c, "id", None), dict) and c.id["type"] == FLAG_ADD]
    assert [(b.id["kind"], b.children, b.disabled) for b in buttons] == [
        (kind, label, True) for kind, label in FLAG_KINDS.items()]
    assert create_flag_badge(_flag(1, "failed_contact")).children == "failed contact"
    assert create_flag_badge(_flag(1, "retired_kind")).children == "retired_kind"
