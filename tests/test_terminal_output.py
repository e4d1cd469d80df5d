"""Case text printed on the operator's terminal: control and bidi characters are shown, never obeyed.

A worker's text (or a tampered record) holding ESC sequences retitled the terminal,
wrote to the clipboard (OSC 52) and hid lines when `cases thread` printed it raw.
"""

from __future__ import annotations

import json
import uuid

import pytest

from desk.terminal import terminal_safe
from desk_support import identity_in, store_in, make_record, operator_deployment, run_cli
from desk.dialogue import OperatorDialogue
from desk.operator_store import OperatorStore

# Each raw sequence an attacker could hide in case text, and what the operator sees instead.
ATTACKS = [
    ("\x1b]0;owned title\x07", "\\u001b]0;owned title\\u0007"),  # set the window title
    ("\x1b]52;c;cm0gLXJmIH4=\x07", "\\u001b]52;c;cm0gLXJmIH4=\\u0007"),  # write the clipboard (OSC 52)
    ("seen\x1b[2K\rhidden", "seen\\u001b[2K\\u000dhidden"),  # erase the line, carriage return
    ("\x1b[8mconcealed\x1b[0m", "\\u001b[8mconcealed\\u001b[0m"),  # invisible text
    ("\x9b31m", "\\u009b31m"),  # C1 CSI: ESC [ in one byte
    ("\x85next line", "\\u0085next line"),  # C1 NEL
    ("pay \u202e01 OT\u202c", "pay \\u202e01 OT\\u202c"),  # right-to-left override
    ("\u2066isolate\u2069 \u200fmark\u061c", "\\u2066isolate\\u2069 \\u200fmark\\u061c"),
    ("line\u2028separator", "line\\u2028separator"),
    ("back\x08space and bell\x07 and DEL\x7f", "back\\u0008space and bell\\u0007 and DEL\\u007f"),
]

PLAIN = [
    "They did not pay us for two months",
    "দুই মাস বেতন দেয়নি",  # Bengali (with its joiners left alone)
    "কার্ড",
    "工厂两个月没发工资",
    "two lines\nand a\ttab",
    "العمال",  # right-to-left script itself is text, not a control
]


@pytest.mark.parametrize(("raw", "shown"), ATTACKS)
def test_control_and_bidi_characters_are_shown_as_escapes(raw, shown):
    assert terminal_safe(raw) == shown


@pytest.mark.parametrize("text", PLAIN)
def test_ordinary_text_in_any_script_is_unchanged(text):
    assert terminal_safe(text) == text


def _no_raw_controls(output: str) -> None:
    for raw, _ in ATTACKS:
        for character in raw:
            if terminal_safe(character) != character:
                assert character not in output, f"raw U+{ord(character):04X} reached the terminal"


def test_cases_thread_shows_escape_sequences_instead_of_running_them(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "desk", operator_store)
    case_id = str(uuid.uuid4())
    dialogue = OperatorDialogue(store_in(config), identity_in(config))
    try:
        dialogue.add_sent(case_id, "Did the wages \x1b]0;owned title\x07arrive?", "2026-01-06T09:00:00Z")
        dialogue.add_answer(str(uuid.uuid4()), case_id, "seen\x1b[2K\rhidden\n\x1b]52;c;cm0gLXJmIH4=\x07 \u202e01 OT",
                            "2026-01-06T09:05:00Z")
    finally:
        dialogue.close()
    result = run_cli(config, "cases", "thread", case_id)
    assert result.exit_code == 0, result.output
    _no_raw_controls(result.output)
    assert "Did the wages \\u001b]0;owned title\\u0007arrive?" in result.output
    assert "seen\\u001b[2K\\u000dhidden" in result.output
    assert "\\u001b]52;c;cm0gLXJmIH4=\\u0007 \\u202e01 OT" in result.output


def test_cases_show_and_list_escape_case_text_and_show_stays_json(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "desk", operator_store)
    record = make_record()
    record["description"] = "Wages \x9b31m late \u202e01 OT\u202c\x85 and \x1b]0;title\x07"
    record["answers"]["workplace"] = "Rahman \u2066Garments\u2069"
    store = OperatorStore(store_in(config), identity_in(config))
    try:
        store.add(record)
    finally:
        store.close()
    shown = run_cli(config, "cases", "show", record["case_id"][:8])
    assert shown.exit_code == 0, shown.output
    _no_raw_controls(shown.output)
    parsed = json.loads(shown.output)  # the escapes are JSON's own: the operator's tools still read it
    assert parsed["description"] == record["description"]
    assert parsed["answers"]["workplace"] == record["answers"]["workplace"]
    listed = run_cli(config, "cases", "list")
    assert listed.exit_code == 0 and record["case_id"] in listed.output
    _no_raw_controls(listed.output)
