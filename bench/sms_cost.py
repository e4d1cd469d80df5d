"""What one complete report costs in SMS segments, per language, over the Twilio path.

    .venv/bin/python bench/sms_cost.py                       # config.yaml's languages: en, bn, vi, es
    .venv/bin/python bench/sms_cost.py --gsm7-fold vi,es     # with channels.twilio.gsm7_fold
    .venv/bin/python bench/sms_cost.py --offer all           # a deployment offering all 13
    .venv/bin/python bench/sms_cost.py --languages en,bn --verbose
    .venv/bin/python bench/sms_cost.py --without referral_consent   # the shipped flow less a question

A temporary deployment offers the languages of `--offer` (the language menu, the first
reply, lists them all, so it costs more the more are offered) with Twilio enabled and the
questions of config.yaml's `flow` (the shipped flow). For each language one worker plays a
complete report (first message, language, the description at the privacy notice, category,
every configured question, SEND) as Twilio would deliver it: a form signed with
the twilio library's `RequestValidator` over the public URL, posted to the app's webhook
(`create_app(...).test_client()`: the whole request path, no socket). Every <Message> of
every TwiML answer is counted with `channels/sms_segments.py`: that is what the NGO pays.
The worker's own messages are counted too (on most plans the worker pays for those).
Targets (BENCHMARKS.md): English at most 12 segments per report, any UCS-2 language at most 24.
"""

from __future__ import annotations

import argparse
import json
import yaml
import os
import secrets
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.services import build_services  # noqa: E402
from channels.sms_segments import count_segments  # noqa: E402
from nlu import phrases  # noqa: E402
from storage.keys import init_keys  # noqa: E402

LANGUAGES = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")
DEFAULT_OFFER = ("en", "bn", "vi", "es")  # deployment.languages in config.yaml
ACCOUNT_SID = "AC" + "5e1f0a2b3c4d5e6f708192a3b4c5d6e7"
AUTH_TOKEN = secrets.token_hex(16)
PUBLIC_URL = "https://hotline.example.org"
HOTLINE = "+15550100000"
TARGETS = {"GSM-7": 12, "UCS-2": 24}

# (description, workplace, place, when) as a worker might write them.
REPORTS = {
    "en": ("The supervisor has not paid our wages for two months", "Sunrise Garments", "Gazipur", "since September"),
    "bn": ("মালিক দুই মাস ধরে আমাদের বেতন দেয়নি", "সানরাইজ গার্মেন্টস", "গাজীপুর", "সেপ্টেম্বর থেকে"),
    "hi": ("मालिक ने दो महीने से हमारी तनख्वाह नहीं दी", "सनराइज़ गारमेंट्स", "नोएडा", "सितंबर से"),
    "ne": ("मालिकले दुई महिनादेखि हाम्रो तलब दिएको छैन", "सनराइज गार्मेन्ट", "काठमाडौं", "असोजदेखि"),
    "my": ("သူဌေးက နှစ်လကြာ လစာ မပေးသေးဘူး", "Sunrise Garments", "ရန်ကုန်", "စက်တင်ဘာကတည်းက"),
    "km": ("ថៅកែមិនបានបើកប្រាក់ខែយើងពីរខែហើយ", "Sunrise Garments", "ភ្នំពេញ", "តាំងពីខែកញ្ញា"),
    "th": ("นายจ้างไม่จ่ายค่าจ้างเรามาสองเดือนแล้ว", "Sunrise Garments", "ชลบุรี", "ตั้งแต่เดือนกันยายน"),
    "vi": ("Chủ không trả lương cho chúng tôi hai tháng", "Công ty May Sài Gòn", "Bình Dương", "từ tháng chín"),
    "id": ("Majikan belum membayar gaji kami selama dua bulan", "PT Sunrise Garmen", "Bekasi", "sejak September"),
    "tl": ("Hindi kami binayaran ng sahod ng amo namin nang dalawang buwan", "Sunrise Garments", "Cavite", "mula Setyembre"),
    "ja": ("会社が2か月給料を払っていません", "サンライズ縫製", "岐阜", "9月から"),
    "zh": ("老板两个月没有给我们发工资", "日出制衣厂", "东莞", "从九月开始"),
    "es": ("El patrón no nos paga el salario desde hace dos meses", "Textiles del Norte", "San Pedro Sula", "desde septiembre"),
}


def shipped_questions(without: tuple[str, ...] = ()) -> list[dict]:
    """The questions of config.yaml's flow, less those of `without`."""
    flow = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["flow"]
    return [question for question in flow["questions"] if question["id"] not in without]


def script(lang: str, number: int, questions: list[dict] | None = None) -> list[str]:
    """A complete report: the description is sent at the privacy notice (it is the consent);
    "1" answers the category suggestion (yes) or the menu (1 = wages) alike, and a typed answer
    is taken whether or not the bot offered what it understood. The brand is skipped, nobody is
    in danger, no contact, and the company may be told (YES)."""
    description, workplace, place, when = REPORTS[lang]
    answers = {"workplace": workplace, "location": place, "brand": phrases("skip", lang)[0], "when": when,
               "ongoing": "1", "people_affected": "40", "urgent": "2", "contact_consent": "2", "referral_consent": "1"}  # fmt: skip
    steps = ["hello", str(number), description]
    for question in questions if questions is not None else shipped_questions():
        steps.append("1" if question.get("kind") == "category" else answers.get(question["id"], "2"))
    return [*steps, "1"]


def build(root: Path, offer: tuple[str, ...], gsm7_fold: tuple[str, ...], without: tuple[str, ...] = ()):
    config = {
        # Real-looking contacts: with Twilio enabled none (or the example's placeholder) is refused at start-up.
        "deployment": {"name": "Worker hotline", "languages": list(offer),
                       "emergency_contacts": ["Emergency services: 999", "Duty officer: 0100 200 300"]},
        "paths": {"data_dir": "data"},
        "secrets": {"pepper": {"file": "keys/pepper"}, "data_keys": {"file": "keys/data-keys.json"}},
        "operator": {"recipients_file": "keys/operator-recipients.txt", "identity_file": "operator/operator-identity.txt",
                     "store": "operator/cases.db"},
        "logging": {"level": "WARNING", "file": "data/logs/grievance.log"},
        "server": {"public_url": PUBLIC_URL},
        "channels": {"twilio": {"enabled": True, "sms_from": HOTLINE, "gsm7_fold": list(gsm7_fold),
                                "api_base_url": "http://127.0.0.1:9", "media_max_bytes": 0}},
        "flow": {"questions": shipped_questions(without)},
    }  # fmt: skip
    settings = settings_from_mapping(config, base_dir=root)
    init_keys(settings, dev_operator_key=True)  # the bench plays the operator too
    return build_services(settings)


def post(client, sender: str, body: str) -> list[str]:
    sid = "SM" + secrets.token_hex(16)
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": HOTLINE, "Body": body,
            "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}  # fmt: skip
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/webhooks/twilio", form)
    response = client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature})
    if response.status_code != 200:
        raise SystemExit(f"webhook answered {response.status_code}")
    # The TwiML comes from our own app in this process, not from the network.
    return [element.text or "" for element in ET.fromstring(response.data).iter("Message")]  # noqa: S314


def measure(client, offer: tuple[str, ...], lang: str, index: int, verbose: bool, without: tuple[str, ...] = ()) -> dict:
    sender = f"+8801700{index:06d}"
    sent = received = 0
    encodings: set[str] = set()
    for turn, text in enumerate(script(lang, offer.index(lang) + 1, shipped_questions(without))):
        received += count_segments(text).segments
        for message in post(client, sender, text):
            counted = count_segments(message)
            sent += counted.segments
            if turn:
                encodings.add(counted.encoding)
            if verbose:
                print(f"  [{lang} {counted.encoding} {counted.segments}] {message!r}")
    # The language menu (the first reply) names every offered language in its own script and is
    # UCS-2 wherever one of them is not Latin; the report's own encoding is that of the rest.
    encoding = "UCS-2" if "UCS-2" in encodings else "GSM-7"
    return {"language": lang, "segments": sent, "worker_segments": received, "encoding": encoding,
            "target": TARGETS[encoding], "within": sent <= TARGETS[encoding]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offer", default=",".join(DEFAULT_OFFER), help="deployment.languages, or 'all'")
    parser.add_argument("--languages", default="", help="which offered languages to measure (default: all offered)")
    parser.add_argument("--gsm7-fold", default="", help="comma-separated languages for channels.twilio.gsm7_fold")
    parser.add_argument("--without", default="", help="comma-separated question ids to leave out of the shipped flow")
    parser.add_argument("--verbose", action="store_true", help="print every message with its segments")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"] = ACCOUNT_SID, AUTH_TOKEN
    fold = tuple(code for code in args.gsm7_fold.split(",") if code)
    offer = LANGUAGES if args.offer == "all" else tuple(args.offer.split(","))
    measured = tuple(args.languages.split(",")) if args.languages else offer
    without = tuple(code for code in args.without.split(",") if code)
    with tempfile.TemporaryDirectory(prefix="sms-cost-") as folder:
        services = build(Path(folder), offer, fold, without)
        try:
            client = create_app(services).test_client()
            rows = [measure(client, offer, lang, i, args.verbose, without) for i, lang in enumerate(measured)]
        finally:
            services.close()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'lang':5} {'encoding':8} {'segments':>8} {'target':>6}  worker's own")
        for row in rows:
            mark = "ok" if row["within"] else "OVER"
            print(f"{row['language']:5} {row['encoding']:8} {row['segments']:8} {row['target']:6}  {row['worker_segments']:5}  {mark}")
    return 0 if all(row["within"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
