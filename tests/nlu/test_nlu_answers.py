"""Short answers: yes/no, done/skip/confirm/change, counts, menu choices, hint phrases."""

import pytest

from nlu.keywords import match_word, parse_menu_choice, parse_number, parse_yes_no, phrases

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

YES_NO = [
    ("en", "yes", True), ("en", "Y", True), ("en", "yeah", True), ("en", "yep", True),
    ("en", "ok", True), ("en", "Okay!", True), ("en", "sure", True), ("en", "👍", True),
    ("en", "no", False), ("en", "N", False), ("en", "nope", False), ("en", "nah", False),
    ("bn", "হ্যাঁ", True), ("bn", "হা", True), ("bn", "জি", True), ("bn", "ha", True),
    ("bn", "Haa", True), ("bn", "hya", True), ("bn", "ji", True), ("bn", "hoo", True),
    ("bn", "yes", True), ("bn", "না", False), ("bn", "na", False), ("bn", "nah", False),
    ("bn", "no", False),
    ("vi", "có", True), ("vi", "co", True), ("vi", "vâng", True), ("vi", "ừ", True),
    ("vi", "đúng", True), ("vi", "Đúng rồi", True), ("vi", "dạ", True), ("vi", "ok", True),
    ("vi", "không", False), ("vi", "Không!", False), ("vi", "ko", False), ("vi", "k", False),
    ("vi", "khong", False),
    ("es", "sí", True), ("es", "si", True), ("es", "Sí.", True), ("es", "claro", True),
    ("es", "no", False), ("es", "nop", False),
    # not yes/no: digits belong to menus, sentences are answers, other languages' words
    ("en", "1", None), ("en", "2", None), ("en", "maybe", None), ("en", "", None),
    ("en", "yes they hit us", None), ("en", "ha", None), ("en", "si", None),
    ("bn", "আমি জানি না কেন", None), ("vi", "dung", None), ("es", "ya", None),
    (None, "yes", True), (None, "no", False), (None, "haa", None),
]  # fmt: skip


@pytest.mark.parametrize(("language", "text", "expected"), YES_NO)
def test_parse_yes_no(language, text, expected):
    assert parse_yes_no(text, language) is expected


WORDS = [
    ("done", None, "done"), ("done", None, "Finished!"), ("done", None, "that's all"),
    ("done", None, "that’s all"), ("done", "bn", "শেষ"), ("done", "bn", "shesh"),
    ("done", "bn", "hoyeche"), ("done", "bn", "হয়েছে"), ("done", "vi", "xong"),
    ("done", "vi", "Xong rồi"), ("done", "vi", "het"), ("done", "es", "listo"),
    ("done", "es", "ya"), ("done", "es", "terminé"), ("done", "es", "termine"),
    ("skip", None, "skip"), ("skip", None, "-"), ("skip", None, "none"),
    ("skip", None, "no answer"), ("skip", "bn", "বাদ"), ("skip", "bn", "baad"),
    ("skip", "vi", "bỏ qua"), ("skip", "vi", "bo qua"), ("skip", "es", "saltar"),
    ("skip", "es", "omitir"),
    ("confirm", None, "confirm"), ("confirm", None, "SEND"), ("confirm", "bn", "নিশ্চিত"),
    ("confirm", "bn", "পাঠান"), ("confirm", "bn", "pathao"), ("confirm", "vi", "xác nhận"),
    ("confirm", "vi", "gui"), ("confirm", "es", "enviar"), ("confirm", "es", "confirmar"),
    ("change", None, "edit"), ("change", None, "change"), ("change", "bn", "বদলান"),
    ("change", "bn", "পরিবর্তন"), ("change", "vi", "sửa"), ("change", "vi", "thay doi"),
    ("change", "es", "cambiar"), ("change", "es", "corregir"),
    ("help", "bn", "sahajjo"), ("cancel", "vi", "dừng"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "language", "text"), WORDS)
def test_match_word(kind, language, text):
    assert match_word(text, kind, language)


@pytest.mark.parametrize(
    ("kind", "language", "text"),
    [
        ("done", None, "done with this job"),
        ("done", None, "xong"),  # Vietnamese word, English-only lookup
        ("done", "en", "ya"),
        ("skip", "en", "--- no idea"),
        ("cancel", "vi", "đúng"),
        ("yes", "vi", "dung"),
        ("confirm", "bn", "pathao taka"),
    ],
)
def test_match_word_rejects(kind, language, text):
    assert not match_word(text, kind, language)


def test_match_word_rejects_unknown_kind():
    with pytest.raises(ValueError):
        match_word("yes", "agree", "en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("about 20 people", 20),
        ("২০ জন", 20),
        ("১৫০০০ টাকা বাকি", 15000),
        ("１５", 15),
        ("๒๕ คน", 25),
        ("tôi làm 12 tiếng", 12),
        ("1,200", 1200),
        ("1,200 workers", 1200),
        ("1.200 trabajadores", 1200),
        ("1,20,000 taka", 120000),
        ("we are 300 workers in line 4", 300),
        ("2.5 hours", 2),
        ("20-30", 20),
        ("0", 0),
        ("10000000", 10_000_000),
        ("10000001", None),
        ("call 01712345678", None),
        ("9" * 5000, None),
        ("no numbers here", None),
        ("", None),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "n_options", "expected"),
    [
        ("1", 3, 1),
        ("2.", 3, 2),
        ("(2)", 3, 2),
        ("#2", 3, 2),
        (" 3 ", 3, 3),
        ("১", 3, 1),
        ("২।", 3, 2),
        ("３", 3, 3),
        ("2️⃣", 3, 2),
        ("12", 12, 12),
        ("0", 3, None),
        ("4", 3, None),
        ("12", 3, None),
        ("", 3, None),
        ("2 3", 3, None),
        ("option 2", 3, None),
        ("two", 3, None),
        ("1.5", 3, None),
    ],
)
def test_parse_menu_choice(text, n_options, expected):
    assert parse_menu_choice(text, n_options) == expected


@pytest.mark.parametrize(
    ("kind", "language", "first"),
    [
        ("help", "en", "help"),
        ("help", "bn", "সাহায্য"),
        ("cancel", "vi", "hủy"),  # not "dừng": folded for SMS it would read "dung", also "đúng" (yes)
        ("yes", "es", "sí"),
    ],
)
def test_phrases_start_with_the_display_word(kind, language, first):
    assert phrases(kind, language)[0] == first


def test_phrases_of_a_language_without_data_are_empty():
    assert phrases("help", "xx") == ()


def test_phrases_reject_unknown_kind():
    with pytest.raises(ValueError):
        phrases("hepl", "en")


@pytest.mark.parametrize("text", ["-1", "- 1", "−2", "－3", "–1"])
def test_a_negative_number_is_no_menu_choice(text):
    assert parse_menu_choice(text, 3) is None


@pytest.mark.parametrize(("text", "expected"), [("-5", None), ("about -5 people", None), ("20-30", 20), ("ages 5-6", 5)])
def test_a_negative_count_is_no_count(text, expected):
    assert parse_number(text) == expected
