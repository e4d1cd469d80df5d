"""The keyword understander (`nlu/data/categories.yaml`): category, confidence and urgency.

No longer the default (see test_nlu_statistical.py), but kept: it explains a suggestion
in words a reviewer can check, and its urgency lexicon serves every understander."""

import pytest

from nlu.understanding import KeywordUnderstander, Understander, Understanding, builtin_understander

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

REPORTS = [
    # English
    ("en", "they have not paid our salary for 2 months", "wages"),
    ("en", "supervisor cuts 500 from my wage every month, no payslip", "wages"),
    ("en", "we work 14 hours every day and no day off for 3 weeks", "hours"),
    ("en", "forced overtime until midnight", "hours"),
    ("en", "no gloves or masks when we use chemicals", "safety"),
    ("en", "my friend got injured by the cutting machine", "safety"),
    ("en", "line chief touches the girls and shouts at us", "harassment"),
    ("en", "manager harassed me and made sexual comments", "harassment"),
    ("en", "they refused to hire me because i'm a woman", "discrimination"),
    ("en", "migrant workers are treated differently", "discrimination"),
    ("en", "agent kept our passports and says we must pay the debt first", "forced_labour"),
    ("en", "we cannot quit until the recruitment fee is returned", "forced_labour"),
    ("en", "there are kids 13 years old in the sewing section", "child_labour"),
    ("en", "they hire underage girls", "child_labour"),
    ("en", "we want to form a union but the manager refuses", "association"),
    ("en", "workers on strike since monday", "association"),
    ("en", "i was fired without notice and got no severance", "dismissal"),
    ("en", "they laid off 200 workers", "dismissal"),
    ("en", "after i complained they transferred me to the worst line", "retaliation"),
    ("en", "they blacklisted me for complaining", "retaliation"),
    ("en", "the dormitory has 20 people in one room and one toilet", "living_conditions"),
    ("en", "no drinking water in the hostel", "living_conditions"),
    ("en", "the factory dumps waste into the river near our village", "environment_community"),
    ("en", "pesticide spraying next to our houses", "environment_community"),
    # Bengali and Banglish
    ("bn", "৩ মাস ধরে বেতন দেয় না", "wages"),
    ("bn", "amader beton 2 mash baki", "wages"),
    ("bn", "প্রতিদিন ১৪ ঘণ্টা কাজ, কোনো ছুটি নাই", "hours"),
    ("bn", "roj 12 ghonta kaj korte hoy", "hours"),
    ("bn", "কারখানায় দুর্ঘটনা হয়েছে, ৩ জন আহত", "safety"),
    ("bn", "factory te kono nirapotta nai", "safety"),
    ("bn", "সুপারভাইজার মেয়েদের গালাগালি করে", "harassment"),
    ("bn", "line chief hoyrani kore", "harassment"),
    ("bn", "গর্ভবতী হওয়ায় আমাকে কাজ দেয় না", "discrimination"),
    ("bn", "mohila bole kom beshi kaj dey", "discrimination"),
    ("bn", "দালাল আমার পাসপোর্ট রেখে দিয়েছে", "forced_labour"),
    ("bn", "dalal passport rekhe diyeche", "forced_labour"),
    ("bn", "কারখানায় ১৩ বছরের শিশু কাজ করে", "child_labour"),
    ("bn", "onek baccha kaj kore line e", "child_labour"),
    ("bn", "ইউনিয়ন করলে চাকরি থাকবে না বলে", "association"),
    ("bn", "amra songothon korte chai", "association"),
    ("bn", "আমাকে বিনা নোটিশে ছাঁটাই করেছে", "dismissal"),
    ("bn", "amar chakri chole geche kono karon chara", "dismissal"),
    ("bn", "অভিযোগ করার পর আমাকে শাস্তি দিয়েছে", "retaliation"),
    ("bn", "obhijog korar por amake onno line e dise", "retaliation"),
    ("bn", "মেসে ২০ জন এক রুমে থাকি, টয়লেট নাই", "living_conditions"),
    ("bn", "thakar jayga khub kharap", "living_conditions"),
    ("bn", "কারখানার বর্জ্য নদীতে ফেলে", "environment_community"),
    ("bn", "nodi te dushon, gramer lok osustho", "environment_community"),
    # Vietnamese with and without diacritics
    ("vi", "công ty nợ lương 2 tháng rồi", "wages"),
    ("vi", "cong ty khong tra luong", "wages"),
    ("vi", "phải tăng ca đến 10 giờ đêm", "hours"),
    ("vi", "lam them gio ma khong duoc nghi", "hours"),
    ("vi", "xưởng có hóa chất mà không có khẩu trang", "safety"),
    ("vi", "bi tai nan trong xuong", "safety"),
    ("vi", "tổ trưởng quấy rối công nhân nữ", "harassment"),
    ("vi", "quan ly hay quay roi chung toi", "harassment"),
    ("vi", "họ phân biệt đối xử vì tôi mang thai", "discrimination"),
    ("vi", "khong nhan nguoi dan toc", "discrimination"),
    ("vi", "công ty giữ hộ chiếu của chúng tôi", "forced_labour"),
    ("vi", "phai tra no phi moi gioi moi duoc ve", "forced_labour"),
    ("vi", "có trẻ em 14 tuổi làm trong xưởng", "child_labour"),
    ("vi", "nhieu cong nhan chua du tuoi", "child_labour"),
    ("vi", "chúng tôi muốn thành lập công đoàn", "association"),
    ("vi", "cong nhan dinh cong 3 ngay", "association"),
    ("vi", "tôi bị đuổi việc không báo trước", "dismissal"),
    ("vi", "cong ty sa thai 50 nguoi", "dismissal"),
    ("vi", "sau khi khiếu nại tôi bị trù dập", "retaliation"),
    ("vi", "ho tra thu vi toi khieu nai", "retaliation"),
    ("vi", "ký túc xá quá chật, không có nước sạch", "living_conditions"),
    ("vi", "phong tro khong co nha ve sinh", "living_conditions"),
    ("vi", "nhà máy xả nước thải ra sông", "environment_community"),
    ("vi", "o nhiem nang, nguoi dan bi benh", "environment_community"),
    # Spanish with and without accents
    ("es", "no me pagan el salario desde hace dos meses", "wages"),
    ("es", "me descuentan del sueldo sin razón", "wages"),
    ("es", "jornada de 12 horas y no hay dia libre", "hours"),
    ("es", "nos cambian el turno sin descanso", "hours"),
    ("es", "no hay guantes y usamos químicos", "safety"),
    ("es", "mi compañero sufrió un accidente con la máquina", "safety"),
    ("es", "el supervisor acosa a las compañeras", "harassment"),
    ("es", "nos insultan y nos gritan", "harassment"),
    ("es", "nos discriminan por ser indígenas", "discrimination"),
    ("es", "no contratan a mujeres embarazadas", "discrimination"),
    ("es", "el contratista se quedó con mi pasaporte", "forced_labour"),
    ("es", "tenemos una deuda y no nos dejan renunciar", "forced_labour"),
    ("es", "hay niños de 12 años en el campo", "child_labour"),
    ("es", "trabajan menores de edad en la finca", "child_labour"),
    ("es", "queremos formar un sindicato", "association"),
    ("es", "los trabajadores están en huelga", "association"),
    ("es", "me despidieron sin liquidación", "dismissal"),
    ("es", "nos echaron sin finiquito", "dismissal"),
    ("es", "me cambiaron de área por quejarme", "retaliation"),
    ("es", "estoy en la lista negra por denunciar", "retaliation"),
    ("es", "vivimos hacinados en la galera sin agua potable", "living_conditions"),
    ("es", "el cuarto no tiene baño", "living_conditions"),
    ("es", "la fumigación contamina el río del pueblo", "environment_community"),
    ("es", "tiran basura y desechos cerca de la comunidad", "environment_community"),
]


@pytest.fixture(scope="module")
def understander() -> KeywordUnderstander:
    return KeywordUnderstander()


@pytest.mark.parametrize(("language", "text", "category"), REPORTS)
def test_category(understander, language, text, category):
    result = understander.understand(text, language)
    assert result.category == category
    assert 0.0 < result.confidence <= 1.0
    assert result.language == language


@pytest.mark.parametrize(("language", "text", "category"), REPORTS[::6])
def test_category_without_a_language(understander, language, text, category):
    # The worker's language is not always known (first message): all lexicons apply.
    assert understander.understand(text).category == category


@pytest.mark.parametrize(
    ("language", "text", "category"),
    [
        ("bn", "they have not paid our salary", "wages"),  # English in a Bengali conversation
        ("vi", "no me pagan el salario", "wages"),  # the chosen language is not the one typed
    ],
)
def test_other_languages_are_tried_when_the_chosen_one_finds_nothing(
    understander, language, text, category
):
    assert understander.understand(text, language).category == category


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "hello"),
        ("en", "ok thanks"),
        ("bn", "আসসালামু আলাইকুম"),
        ("vi", "xin chào"),
        ("es", "hola"),
        ("en", ""),
    ],
)
def test_nothing_matched(understander, language, text):
    assert understander.understand(text, language) == Understanding(language, None, 0.0, False)


@pytest.mark.parametrize(
    ("language", "text", "urgent"),
    [
        ("en", "fire in the factory!! doors are locked", True),
        ("en", "they locked us in the building", True),
        ("en", "supervisor beat me with a stick", True),
        ("en", "he said he will kill us if we talk", True),
        ("en", "i want to kill myself", True),
        ("en", "we cannot leave the compound", True),
        ("en", "the building collapsed", True),
        ("en", "they don't stop hitting us", True),
        ("bn", "কারখানায় আগুন লেগেছে", True),
        ("bn", "মালিক আমাদের মারধর করে", True),
        ("bn", "amader atke rekheche", True),
        ("bn", "factory te agun legeche", True),
        ("vi", "nhà máy bị cháy", True),
        ("vi", "nha may bi chay, cua bi khoa", True),
        ("vi", "tôi bị đánh", True),
        ("vi", "họ nhốt chúng tôi trong xưởng", True),
        ("es", "hay un incendio en la fábrica", True),
        ("es", "el capataz nos golpea", True),
        ("es", "nos tienen encerrados", True),
        ("es", "es trata de personas", True),
        ("en", "no fire exits on our floor", False),
        ("en", "the fire extinguisher is empty", False),
        ("en", "they fired me", False),
        ("en", "they fire workers who complain", False),
        ("en", "we must hit the target every hour", False),
        ("en", "manager threatened to fire us", False),
        ("en", "salary not paid", False),
        ("en", "i need better skills training", False),
        ("bn", "বেতন কম", False),
        ("vi", "tôi chạy máy 12 tiếng", False),  # chạy (run), not cháy (fire)
        ("vi", "sắp hết giờ làm", False),  # sắp (soon), not sập (collapse)
        ("vi", "bình chữa cháy hết hạn", False),
        ("es", "el salario es bajo", False),
        ("es", "violación de derechos laborales", False),
    ],
)
def test_urgent(understander, language, text, urgent):
    assert understander.understand(text, language).urgent is urgent


def test_urgency_is_checked_in_every_language(understander):
    assert understander.understand("কারখানায় আগুন", "es").urgent


def test_more_evidence_means_more_confidence(understander):
    one = understander.understand("salary", "en").confidence
    two = understander.understand("salary not paid", "en").confidence
    three = understander.understand("salary not paid, no payslip, deductions", "en").confidence
    assert 0.0 < one < two < three <= 1.0


def test_mixed_evidence_means_less_confidence(understander):
    clear = understander.understand("salary not paid", "en").confidence
    mixed = understander.understand("salary not paid and fired", "en").confidence
    assert mixed < clear


@pytest.mark.parametrize("make", [KeywordUnderstander, builtin_understander])
def test_builtin_understanders_satisfy_the_interface(make):
    understander: Understander = make()
    assert understander.name == "builtin"
    assert isinstance(understander.understand("hello"), Understanding)
