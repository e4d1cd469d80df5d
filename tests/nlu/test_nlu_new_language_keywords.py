"""Commands and short answers in the nine languages added after the first four, as
workers type them: native script, romanized, and with English always understood."""

import pytest

from nlu.keywords import Command, ParsedCommand, match_word, parse_command, parse_yes_no

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

COMMANDS = [
    ("hi", "मदद", Command.HELP), ("hi", "madad", Command.HELP), ("hi", "पीछे", Command.BACK),
    ("hi", "रोको", Command.CANCEL), ("hi", "band karo", Command.CANCEL), ("hi", "मिटाओ", Command.DELETE),
    ("hi", "भाषा", Command.LANGUAGE),
    ("ne", "मद्दत", Command.HELP), ("ne", "रोक्नुस्", Command.CANCEL), ("ne", "मेटाउनुस्", Command.DELETE),
    ("my", "အကူအညီ", Command.HELP), ("my", "ရပ်", Command.CANCEL), ("my", "ဖျက်", Command.DELETE),
    ("km", "ជំនួយ", Command.HELP), ("km", "ឈប់", Command.CANCEL), ("km", "លុប", Command.DELETE),
    ("th", "ช่วยเหลือ", Command.HELP), ("th", "ยกเลิก", Command.CANCEL), ("th", "ลบ", Command.DELETE),
    ("th", "ภาษา", Command.LANGUAGE),
    ("id", "bantuan", Command.HELP), ("id", "batal", Command.CANCEL), ("id", "Hapus!", Command.DELETE),
    ("id", "kembali", Command.BACK),
    ("tl", "tulong", Command.HELP), ("tl", "tigil", Command.CANCEL), ("tl", "burahin", Command.DELETE),
    ("tl", "wika", Command.LANGUAGE),
    ("ja", "ヘルプ", Command.HELP), ("ja", "やめる", Command.CANCEL), ("ja", "削除", Command.DELETE),
    ("ja", "戻る", Command.BACK),
    ("zh", "帮助", Command.HELP), ("zh", "取消", Command.CANCEL), ("zh", "删除", Command.DELETE),
    ("zh", "语言", Command.LANGUAGE),
    ("ja", "stop", Command.CANCEL), ("km", "help", Command.HELP),  # English works everywhere
]  # fmt: skip


@pytest.mark.parametrize(("language", "text", "command"), COMMANDS)
def test_commands(language, text, command):
    assert parse_command(text, [language]) == ParsedCommand(command)


@pytest.mark.parametrize(
    ("language", "text"),
    [("hi", "स्थिति १२३४ ५६७८"), ("th", "สถานะ ๑๒๓๔"), ("zh", "状态 1234 5678"), ("id", "status 1234")],
)
def test_status_with_a_code_in_local_digits(language, text):
    parsed = parse_command(text, [language])
    assert parsed is not None and parsed.command is Command.STATUS and parsed.argument


YES_NO = [
    ("hi", "हाँ", True), ("hi", "haan", True), ("hi", "नहीं", False), ("hi", "nahi", False),
    ("ne", "हो", True), ("ne", "होइन", False), ("my", "ဟုတ်ကဲ့", True), ("my", "မဟုတ်ဘူး", False),
    ("km", "បាទ", True), ("km", "ចាស", True), ("km", "ទេ", False), ("th", "ใช่", True), ("th", "ไม่", False),
    ("id", "iya", True), ("id", "gak", False), ("tl", "opo", True), ("tl", "hindi po", False),
    ("ja", "はい", True), ("ja", "いいえ", False), ("zh", "是的", True), ("zh", "不是", False),
    ("id", "yes", True), ("zh", "no", False),
]  # fmt: skip


@pytest.mark.parametrize(("language", "text", "answer"), YES_NO)
def test_yes_no(language, text, answer):
    assert parse_yes_no(text, language) is answer


@pytest.mark.parametrize(
    ("language", "text", "kind"),
    [("hi", "हो गया", "done"), ("ja", "終わり", "done"), ("tl", "tapos na", "done"), ("th", "ข้าม", "skip"),
     ("id", "kirim", "confirm"), ("zh", "修改", "change"), ("ne", "थाहा छैन", "skip")],
)  # fmt: skip
def test_short_answers(language, text, kind):
    assert match_word(text, kind, language)


@pytest.mark.parametrize(
    ("language", "text"),
    [("hi", "मालिक ने पैसा रोको बोला"), ("id", "tolong kami belum digaji"), ("zh", "老板说取消我们的加班费")],
)
def test_a_command_word_inside_a_report_is_no_command(language, text):
    assert parse_command(text, [language]) is None
