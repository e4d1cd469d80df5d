"""Conversation scripts shared by tests: what a worker types, step by step, in each language."""

from __future__ import annotations

# A whole English intake, from first contact to the summary (confirm with "1" after it).
ENGLISH_INTAKE = [
    "hi",
    "1",  # English
    "yes",
    "The supervisor has not paid our wages for two months",
    "He also shouts at the women on the line",
    "1",  # yes, it is about wages
    "Sunrise Garments Ltd",
    "Gazipur",
    "skip",
    "since September",
    "yes",
    "about 40",
    "2",  # nobody in danger now
    "no",  # no contact
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
    "হ্যাঁ",
    "৩৫ জন",
    "না",
    "না",
]

BENGALI_SECRETS = ["মালিক দুই মাস ধরে আমাদের বেতন দেয়নি", "রূপসী গার্মেন্টস", "আশুলিয়া"]
