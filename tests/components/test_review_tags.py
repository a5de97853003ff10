from components.review_tags import (
    NOTES_INPUT_ID,
    SAVE_ID,
    TAGS_INPUT_ID,
    create_tag_badges,
    create_tag_editor,
)
from core.review.annotations import Annotations
from tests.components.tree import find_one, text


def test_the_editor_holds_the_tags_comma_separated_and_the_notes():
    editor = create_tag_editor(Annotations(1, ("demo", "j series"), "note"), editable=True)
    assert find_one(editor, id=TAGS_INPUT_ID).value == "demo, j series"
    assert find_one(editor, id=NOTES_INPUT_ID).value == "note"
    assert not find_one(editor, id=SAVE_ID).disabled
    assert "Operators and admins" not in text(editor)


def test_read_only_for_those_who_may_not_review_and_no_tags_said_so():
    editor = create_tag_editor(Annotations(1, (), ""), editable=False)
    assert all(find_one(editor, id=key).disabled
               for key in (TAGS_INPUT_ID, NOTES_INPUT_ID, SAVE_ID))
    assert "No tags" in text(editor) and "Operators and admins edit" in text(editor)
    assert text(create_tag_badges(["a", "b"])) == "a b"
