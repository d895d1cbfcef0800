"""tomei.keras.utils.text.printable: untrusted names made safe for a terminal."""
import pytest

from tomei.keras.utils.text import printable


@pytest.mark.parametrize("raw, shown", [
    ("dense_1", "dense_1"), ("名前 テスト", "名前 テスト"), ("$\\foo{$", "$\\foo{$"),
    ("\x1b[2J", "\\x1b[2J"), ("a\u202eb", "a\\u202eb"), ("x\ry", "x\\x0dy"),
    ("tab\there", "tab\\x09here"), ("nl\n", "nl\\x0a"), ("\x9b31m", "\\x9b31m"),
    ("zero\u200bwidth", "zero\\u200bwidth"), ("\U000e0041tag", "\\U000e0041tag"),
])
def test_control_and_format_characters_become_visible(raw, shown):
    assert printable(raw) == shown


def test_newlines_can_be_kept_for_messages():
    assert printable("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"


def test_long_text_is_cut():
    assert printable("x" * 500) == "x" * 200 + "…"
    assert printable("x" * 500, limit=None) == "x" * 500


def test_any_object_is_shown_through_str():
    assert printable(12) == "12"
