"""parse_command() and is_unknown_command(): commands as workers really type them."""

import pytest

from nlu.keywords import Command, ParsedCommand, is_unknown_command, parse_command

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

HELP, BACK, CANCEL, DELETE = Command.HELP, Command.BACK, Command.CANCEL, Command.DELETE
LANGUAGE, STATUS = Command.LANGUAGE, Command.STATUS

COMMANDS = [
    # English, always understood
    ("en", "HELP", HELP), ("en", "help", HELP), ("en", "Help!", HELP), ("en", "?", HELP),
    ("en", "???", HELP), ("en", "info", HELP), ("en", " help  ", HELP),
    ("en", "back", BACK), ("en", "Previous", BACK), ("en", "prev", BACK),
    ("en", "STOP", CANCEL), ("en", "stop.", CANCEL), ("en", "cancel", CANCEL),
    ("en", "quit", CANCEL), ("en", "END", CANCEL),
    ("en", "delete", DELETE), ("en", "erase", DELETE), ("en", "Remove", DELETE),
    ("en", "language", LANGUAGE), ("en", "lang", LANGUAGE),
    ("en", "status", STATUS), ("en", "STATUS", STATUS), ("en", "check", STATUS),
    # Bengali: script, romanized Banglish, and English inside a Bengali conversation
    ("bn", "সাহায্য", HELP), ("bn", "সাহায্য।", HELP), ("bn", "sahajjo", HELP),
    ("bn", "Sahayya", HELP), ("bn", "help", HELP),
    ("bn", "পিছনে", BACK), ("bn", "আগের", BACK), ("bn", "pichone", BACK), ("bn", "pechone", BACK),
    ("bn", "বন্ধ", CANCEL), ("bn", "বাতিল", CANCEL), ("bn", "bondho", CANCEL),
    ("bn", "batil", CANCEL), ("bn", "stop", CANCEL),
    ("bn", "মুছুন", DELETE), ("bn", "মুছে ফেলুন", DELETE), ("bn", "muche felo", DELETE),
    ("bn", "muchun", DELETE),
    ("bn", "ভাষা", LANGUAGE), ("bn", "bhasha", LANGUAGE),
    ("bn", "অবস্থা", STATUS), ("bn", "obostha", STATUS),
    # Vietnamese with and without diacritics
    ("vi", "giúp", HELP), ("vi", "Trợ giúp", HELP), ("vi", "giup", HELP), ("vi", "tro giup", HELP),
    ("vi", "Quay lại", BACK), ("vi", "trở lại", BACK), ("vi", "quay lai", BACK),
    ("vi", "dừng", CANCEL), ("vi", "hủy", CANCEL), ("vi", "huỷ", CANCEL), ("vi", "dung lai", CANCEL),
    ("vi", "HUY", CANCEL),
    ("vi", "xóa", DELETE), ("vi", "xoá", DELETE), ("vi", "xoa", DELETE),
    ("vi", "ngôn ngữ", LANGUAGE), ("vi", "ngon ngu", LANGUAGE),
    ("vi", "tình trạng", STATUS), ("vi", "trạng thái", STATUS), ("vi", "tinh trang", STATUS),
    ("vi", "trang thai", STATUS),
    # Spanish with and without accents
    ("es", "ayuda", HELP), ("es", "Ayúdame", HELP), ("es", "ayudame", HELP),
    ("es", "atrás", BACK), ("es", "atras", BACK), ("es", "volver", BACK),
    ("es", "parar", CANCEL), ("es", "cancelar", CANCEL), ("es", "ALTO!!", CANCEL),
    ("es", "borrar", DELETE), ("es", "eliminar", DELETE),
    ("es", "idioma", LANGUAGE), ("es", "estado", STATUS),
    # Telegram-style
    ("en", "/help", HELP), ("en", "/HELP", HELP), ("en", "/help@GrievanceBot", HELP),
    ("en", "/cancel", CANCEL), ("en", "/status", STATUS), ("es", "/ayuda", HELP),
    ("en", "/help me", HELP),
]  # fmt: skip


@pytest.mark.parametrize(("language", "text", "command"), COMMANDS)
def test_command_words(language, text, command):
    assert parse_command(text, [language]) == ParsedCommand(command, None)


@pytest.mark.parametrize(
    ("text", "languages", "argument"),
    [
        ("STATUS 1234 5678", [], "1234 5678"),
        ("status 1234-5678", [], "1234-5678"),
        ("Status: 12345678.", [], "12345678"),
        ("check 4821 3390", ["en"], "4821 3390"),
        ("status １２３４ ５６７８", [], "1234 5678"),
        ("status AB-1234", [], "AB-1234"),
        ("অবস্থা ১২৩৪", ["bn"], "1234"),
        ("obostha ৫৬৭৮ ১২৩৪", ["bn"], "5678 1234"),
        ("status ১২৩৪", ["bn"], "1234"),
        ("tình trạng 123", ["vi"], "123"),
        ("tinh trang 123", ["vi"], "123"),
        ("Trang thai 4567 8901", ["vi"], "4567 8901"),
        ("estado 1234", ["es"], "1234"),
        ("ESTADO #1234", ["es"], "1234"),
        ("/status 123", [], "123"),
        ("/status@GrievanceBot 123", [], "123"),
        ("/status abc", [], "abc"),  # with the slash the worker clearly meant the command
    ],
)
def test_status_with_case_code(text, languages, argument):
    assert parse_command(text, languages) == ParsedCommand(STATUS, argument)


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        ("they don't stop hitting us", ["en"]),
        ("please help me, the supervisor beat me", ["en"]),
        ("help me", ["en"]),
        ("I want to check my salary", ["en"]),
        ("check the 3 fire exits", ["en"]),
        ("status of my complaint??", ["en"]),
        ("stop hitting us", ["en"]),
        ("delete 5", ["en"]),
        ("আমাকে সাহায্য করুন মালিক বেতন দেয় না", ["bn"]),
        ("bondho kore rekheche amader", ["bn"]),
        ("xin giúp tôi, công ty không trả lương", ["vi"]),
        ("đúng", ["vi"]),  # "correct": folds like "dung" (stop) but means yes
        ("Đúng rồi", ["vi"]),
        ("he estado trabajando 12 horas", ["es"]),
        ("estado de salud malo", ["es"]),
        ("ayuda", ["bn"]),  # a Spanish word in a Bengali conversation
        ("dừng", ["bn"]),
        ("/start", []),
        ("/START", ["bn"]),
        ("/start abc123", []),
        ("/foo", []),
        ("/", []),
        ("", []),
        ("hello", []),
        ("12345678", []),
        ("yes", ["en"]),
    ],
)
def test_not_commands(text, languages):
    assert parse_command(text, languages) is None


def test_a_single_language_code_is_not_read_letter_by_letter():
    assert parse_command("ayuda", "es") == ParsedCommand(HELP, None)


def test_english_is_always_understood():
    assert parse_command("help", []) == ParsedCommand(HELP, None)
    assert parse_command("STOP", ["vi", "bn"]) == ParsedCommand(CANCEL, None)


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("/foo", True),
        ("/yes", True),
        ("/salary", True),
        ("/বেতন", True),
        ("/help", False),
        ("/help@GrievanceBot", False),
        ("/start", False),
        ("/start xyz", False),
        ("/ayuda", False),
        ("/সাহায্য", False),
        ("/status 123", False),
        ("/123", False),
        ("/", False),
        ("/ help", False),
        ("help", False),
        ("hello /foo", False),
        ("", False),
    ],
)
def test_is_unknown_command(text, unknown):
    assert is_unknown_command(text) is unknown
