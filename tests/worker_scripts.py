"""Conversation scripts shared by tests: what a worker types, step by step, in each language."""

from __future__ import annotations

# A whole English intake, from first contact to the summary (confirm with "1" after it).
ENGLISH_INTAKE = [
    "hi",
    "1",  # English
    "yes",  # at the privacy notice: "What happened?" is asked (the story itself would do too)
    "The supervisor has not paid our wages for two months",
    "He also shouts at the women on the line",
    "1",  # yes, it is about wages
    "Sunrise Garments Ltd",
    "Gazipur",
    "skip",
    "since September",  # "When did it happen? Is it still going on?"
    "about 40",
    "2",  # nobody in danger now
    "no",  # no contact
    "no",  # the company may not be told
]

# Sentences of that intake that must never be found in the clear at rest.
ENGLISH_SECRETS = [
    "The supervisor has not paid our wages",
    "shouts at the women",
    "Sunrise Garments",
    "Gazipur",
    "since September",
]

BENGALI_INTAKE = [
    "হ্যালো",
    "২",  # বাংলা
    "হ্যাঁ",
    "মালিক দুই মাস ধরে আমাদের বেতন দেয়নি",
    "হ্যাঁ",
    "রূপসী গার্মেন্টস",
    "আশুলিয়া",
    "বাদ",
    "গত মাস থেকে",
    "৩৫ জন",
    "না",
    "না",
    "না",
]

BENGALI_SECRETS = ["মালিক দুই মাস ধরে আমাদের বেতন দেয়নি", "রূপসী গার্মেন্টস", "আশুলিয়া"]

# What a worker answers at each step, per shipped language (the engine tests' scripts).
ANSWERS = {
    "en": {
        "description": "The manager has not paid our wages for two months.",
        "workplace": "Rahman Garments Ltd",
        "location": "Gazipur",
        "brand": "FastFashion",
        "when": "since September",
        "people_affected": "about 40",
    },
    "bn": {
        "description": "মালিক দুই মাস ধরে আমাদের বেতন দেয়নি।",
        "workplace": "রহমান গার্মেন্টস",
        "location": "গাজীপুর",
        "brand": "ফাস্টফ্যাশন",
        "when": "সেপ্টেম্বর থেকে",
        "people_affected": "প্রায় ৪০ জন",
    },
    "vi": {
        "description": "Chủ không trả lương cho chúng tôi hai tháng.",
        "workplace": "Công ty May Sài Gòn",
        "location": "Bình Dương",
        "brand": "FastFashion",
        "when": "từ tháng chín",
        "people_affected": "khoảng 40 người",
    },
    "es": {
        "description": "El patrón no nos paga el salario desde hace dos meses.",
        "workplace": "Textiles del Norte S.A.",
        "location": "San Pedro Sula",
        "brand": "FastFashion",
        "when": "desde septiembre",
        "people_affected": "unas 40 personas",
    },
}
# A second message of the description that leaves the NLU's suggestion as it was.
MORE = {
    "en": "It happened again yesterday.",
    "bn": "গতকালও একই ঘটনা ঘটেছে।",
    "vi": "Hôm qua lại xảy ra nữa.",
    "es": "Ayer volvió a pasar.",
}
# Descriptions in which the built-in NLU finds no category: the plain menu comes instead.
NEUTRAL = {
    "en": "Something bad happened to us.",
    "bn": "আমাদের সাথে খারাপ কিছু হয়েছে।",
    "vi": "Có chuyện xấu xảy ra với chúng tôi.",
    "es": "Nos pasó algo malo.",
}

# The same report from a worker who agrees to be contacted (the last answer): the case keeps their reply address.
ENGLISH_INTAKE_CONTACT_YES = [*ENGLISH_INTAKE[:-2], "yes", "no"]
