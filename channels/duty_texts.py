"""What a page to the person on duty says, in their language: that an urgent case waits, and its reference.

Nothing else, ever: no category, no place, no words of the worker, no case code. A phone's lock
screen shows the page to whoever holds the phone. Short, so an SMS is one segment in Latin
script and at most two in others. `duty.texts` in config.yaml replaces any of them.
"""

from __future__ import annotations

PAGE_TEXTS = {
    "en": "Hotline: an urgent case is waiting. Open the desk now. Ref {ref}",
    "es": "Línea de denuncias: hay un caso urgente en espera. Abra la consola ahora. Ref {ref}",
    "ja": "ホットライン：緊急の案件が待っています。今すぐデスクを開いてください。参照 {ref}",
    "bn": "হটলাইন: একটি জরুরি কেস অপেক্ষা করছে। এখনই ডেস্ক খুলুন। রেফ {ref}",
    "hi": "हॉटलाइन: एक ज़रूरी मामला इंतज़ार में है। अभी डेस्क खोलें। संदर्भ {ref}",
    "ne": "हटलाइन: एउटा जरुरी मुद्दा पर्खिरहेको छ। अहिले डेस्क खोल्नुहोस्। सन्दर्भ {ref}",
    "my": "ဟော့လိုင်း: အရေးပေါ်ကိစ္စတစ်ခု စောင့်နေသည်။ ဒက်စ်ကို ယခုဖွင့်ပါ။ Ref {ref}",
    "km": "ខ្សែទូរស័ព្ទ៖ មានករណីបន្ទាន់កំពុងរង់ចាំ។ សូមបើកតុការងារឥឡូវនេះ។ Ref {ref}",
    "th": "สายด่วน: มีกรณีเร่งด่วนรออยู่ โปรดเปิดเดสก์ทันที อ้างอิง {ref}",
    "vi": "Đường dây nóng: có một vụ khẩn cấp đang chờ. Hãy mở bàn làm việc ngay. Mã {ref}",
    "id": "Hotline: ada kasus mendesak yang menunggu. Buka desk sekarang. Ref {ref}",
    "tl": "Hotline: may kagyat na kaso na naghihintay. Buksan ang desk ngayon. Ref {ref}",
    "zh": "热线：有紧急案件等待处理。请立即打开工作台。编号 {ref}",
}
# A test page (`grievance duty test`) shows exactly what a real one looks like, marked as a test.
TEST_PREFIX = "[TEST, no case] "


def page_text(language: str, ref: str, overrides: dict[str, str], *, test: bool = False) -> str:
    """The page in `language` (English when there is no text for it), naming `ref` as people read it."""
    template = overrides.get(language) or PAGE_TEXTS.get(language) or overrides.get("en") or PAGE_TEXTS["en"]
    text = template.replace("{ref}", ref)
    return TEST_PREFIX + text if test else text
