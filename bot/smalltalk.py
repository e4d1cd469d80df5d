"""Is a message small talk or "don't know"? The engine asks here before storing free text.

The answers come from `nlu.is_filler` and `nlu.is_dont_know` (the shared NLU contract,
every language). Until the NLU that has them is merged, a short fallback below covers
the reported cases (greetings, apologies, bare yes/no words, "don't know" in the
deployment's first languages) so that the engine's rules are already in force and tested.
"""

from __future__ import annotations

from nlu import fold
from nlu.vocabulary import languages, resolve_kind

try:  # the shared NLU contract (nlu branch)
    from nlu import is_dont_know as _nlu_is_dont_know
    from nlu import is_filler as _nlu_is_filler
except ImportError:  # pragma: no cover - depends on which NLU is installed
    _nlu_is_filler = _nlu_is_dont_know = None

# Folded whole messages. Bare yes/no words come from nlu/data/keywords.yaml.
_FILLER = frozenset({
    "hi", "hello", "hey", "hallo", "helo", "good morning", "good evening", "thanks", "thank you", "ok thanks",
    "sorry", "sorry i had to go", "sorry i was busy", "i am back", "im back", "i'm back", "wait", "one moment",
    "hola", "buenas", "buenos dias", "perdon", "lo siento", "gracias", "espera", "ya volvi",
    "xin chao", "chao", "cam on", "xin loi", "doi chut",
    "salam", "assalamualaikum", "nomoskar", "namaskar", "namaste", "dhonnobad", "dhanyavad", "sorry bhai",
    "halo", "maaf", "terima kasih", "tunggu", "kumusta", "salamat", "pasensya",
    "হ্যালো", "নমস্কার", "ধন্যবাদ", "দুঃখিত", "নমস্তে", "धन्यवाद", "माफ़ कीजिए", "नमस्कार",
    "မင်္ဂလာပါ", "ကျေးဇူးတင်ပါတယ်", "ជំរាបសួរ", "អរគុណ", "สวัสดี", "ขอบคุณ", "ขอโทษ",
    "こんにちは", "すみません", "ありがとう", "你好", "谢谢", "对不起", "xin lỗi",
})  # fmt: skip
_DONT_KNOW = frozenset({
    "dont know", "don't know", "do not know", "not sure", "no idea", "i dont know", "i don't know", "idk", "unknown",
    "no se", "no lo se", "ni idea", "khong biet", "toi khong biet", "জানি না", "jani na", "pata nahi", "मालूम नहीं",
    "पता नहीं", "थाहा छैन", "tidak tahu", "gak tau", "hindi ko alam", "不知道", "わからない", "မသိဘူး", "មិនដឹង", "ไม่รู้",
})  # fmt: skip


def is_filler(text: str, language: str | None) -> bool:
    """Only a greeting, apology, thanks, "wait", "I'm back" or a bare yes/no word."""
    if _nlu_is_filler is not None:
        return _nlu_is_filler(text, language)
    # A yes/no word of any language: "nahi" or "ဟုတ်" is no workplace, whatever language was chosen.
    return fold(text) in _FILLER or any(resolve_kind(text, (code,)) in ("yes", "no") for code in languages())


def is_dont_know(text: str, language: str | None) -> bool:
    """"Don't know", "not sure", "no idea" in the worker's words."""
    if _nlu_is_dont_know is not None:
        return _nlu_is_dont_know(text, language)
    return fold(text) in _DONT_KNOW
