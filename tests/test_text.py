"""autograder/text.py: text from a submission is inert on a terminal, in HTML and in a CSV cell."""

from __future__ import annotations

import csv
import io

import pytest

from autograder.text import for_csv_cell, for_html, for_terminal, inert

RED = "\x1b[31mmallory\x1b[0m"
LINK = "\x1b]8;;http://example.invalid/\x07click\x1b]8;;\x1b\\ here"
BIDI = "test \u202edeliaf\u202c ok"  # shows as "test ok failed" where bidi is honoured


@pytest.mark.parametrize("raw, shown", [
    (RED, "mallory"),
    (LINK, "click here"),
    ("\x9b31mred", "red"),  # the 8-bit CSI
    ("\x1bcreset", "reset"),  # a full terminal reset
    ("\x1b(0box", "box"),  # a switch to line-drawing characters
    ("ok\rFAILED", "okFAILED"),  # a carriage return would overwrite the line
    ("a\bb\x07\x00\x7f", "ab"),
    ("\x1b]0;title", ""),  # an unterminated OSC takes no more than its own payload
])
def test_escape_sequences_and_control_characters_are_removed(raw: str, shown: str):
    assert for_terminal(raw) == shown
    assert for_html(raw) == shown


@pytest.mark.parametrize("char", [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
                                  "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e",
                                  "\u200f", "\u061c", "\u2028", "\u2029"])
def test_bidi_and_zero_width_characters_are_shown_by_their_code_point(char: str):
    marker = f"<U+{ord(char):04X}>"
    assert for_terminal(f"a{char}b") == f"a{marker}b"
    assert for_html(f"a{char}b") == f"a&lt;U+{ord(char):04X}&gt;b"
    assert char not in for_csv_cell(f"a{char}b")


def test_a_reordered_word_cannot_pass_for_another():
    assert for_terminal(BIDI) == "test <U+202E>deliaf<U+202C> ok"


def test_newlines_stay_in_text_and_become_spaces_on_one_line():
    assert for_terminal("line 1\r\nline 2\tend") == "line 1\nline 2\tend"
    assert for_terminal("alice\n[2/2] bob: 20 / 20", one_line=True) == "alice [2/2] bob: 20 / 20"


def test_a_file_name_that_is_not_utf8_is_shown_not_raised():
    name = b"bad\xff.py".decode("utf-8", "surrogateescape")
    assert for_terminal(name) == "bad<U+DCFF>.py"
    for_html(name).encode("utf-8")  # a lone surrogate would raise here


def test_html_is_escaped_in_text_and_attributes():
    assert for_html('<img src=x onerror="a">&') == "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;"


def test_plain_text_is_unchanged():
    text = "build_loss: the mean softmax cross-entropy (Ünïcode, 日本語, عربي) is 3.5e-2"
    assert inert(text) == for_terminal(text) == text


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://example.invalid","ok")', "+1+2", "-2+3+cmd",
                                  "@SUM(A1)", "\t=1", "\r=1", " =1", "\uff1d1", "-", "=",
                                  "\x1b[0m=1"])
def test_a_csv_cell_cannot_start_a_formula(cell: str):
    safe = for_csv_cell(cell)
    assert safe.startswith("'"), safe
    text = io.StringIO()
    csv.writer(text).writerow([safe])
    assert next(csv.reader(io.StringIO(text.getvalue())))[0][0] == "'"


@pytest.mark.parametrize("value, cell", [
    (3.5, 3.5), (-2, -2), (0, 0), (None, ""), ("-1.5", "-1.5"), ("+4", "+4"), ("1e-3", "1e-3"),
    ("alice", "alice"), ("a=b", "a=b"), ("line 1\nline 2", "line 1\nline 2"),
])
def test_numbers_stay_numbers_and_text_stays_text(value, cell):
    assert for_csv_cell(value) == cell
    assert type(for_csv_cell(value)) is type(cell)
