"""The channels: the console, and each provider's switch, credentials, sender and send rate."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Frozen, SecretSource

CHANNEL_TYPES = ("console", "sms", "whatsapp", "telegram", "messenger", "line", "voice")  # voice: a phone call (channels/voice)


class ChannelSettings(Frozen):
    enabled: bool = False


class RateLimit(Frozen):
    """How fast a channel may send: overall, and to any one chat or number."""

    messages_per_second: Annotated[float, Field(gt=0, le=1000)]
    per_address_interval_seconds: Annotated[float, Field(ge=0, le=3600)] = 0.0


class ProviderSettings(Frozen):
    """What every provider channel has: a switch and a size limit for photos and voice notes."""

    enabled: bool = False
    media_max_bytes: Annotated[int, Field(ge=0, le=20_000_000)] = 5_000_000  # 0 turns media off


class TwilioSettings(ProviderSettings):
    """SMS and WhatsApp through Twilio, on one webhook (`POST /webhooks/twilio`)."""

    account_sid: SecretSource = SecretSource(env="TWILIO_ACCOUNT_SID")
    auth_token: SecretSource = SecretSource(env="TWILIO_AUTH_TOKEN")
    sms_from: str | None = None  # the hotline's SMS number, E.164 ("+15550100000")
    whatsapp_from: str | None = None  # the hotline's WhatsApp sender ("whatsapp:+15550100000")
    whatsapp_template_sid: str | None = None  # ContentSid of the approved "send STATUS and your code" template
    api_base_url: str = "https://api.twilio.com"
    max_segments_per_message: Annotated[int, Field(ge=1, le=10)] = 3
    # Languages whose SMS replies go without tone marks and accents (GSM-7: 160 characters a
    # segment instead of 70), for communities that already write that way: e.g. [vi, es].
    gsm7_fold: tuple[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")], ...] = ()
    rate: RateLimit = RateLimit(messages_per_second=1.0)


class WhatsAppCloudSettings(ProviderSettings):
    """WhatsApp through Meta's Cloud API (`GET|POST /webhooks/whatsapp`)."""

    app_secret: SecretSource = SecretSource(env="WHATSAPP_APP_SECRET")
    verify_token: SecretSource = SecretSource(env="WHATSAPP_VERIFY_TOKEN")
    access_token: SecretSource = SecretSource(env="WHATSAPP_ACCESS_TOKEN")
    phone_number_id: str | None = None
    graph_base_url: str = "https://graph.facebook.com/v21.0"
    template_name: str = "case_update"  # approved template: "There is an update. Send STATUS and your code."
    template_language: str = "en"
    rate: RateLimit = RateLimit(messages_per_second=20.0)


class TelegramSettings(ProviderSettings):
    """Telegram through python-telegram-bot, by webhook (`POST /webhooks/telegram`) or polling."""

    bot_token: SecretSource = SecretSource(env="TELEGRAM_BOT_TOKEN")
    webhook_secret: SecretSource = SecretSource(env="TELEGRAM_WEBHOOK_SECRET")
    mode: Literal["webhook", "polling"] = "webhook"
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    rate: RateLimit = RateLimit(messages_per_second=25.0, per_address_interval_seconds=1.0)


class MessengerSettings(ProviderSettings):
    """Facebook Messenger, a Page's inbox, through the Graph API (`GET|POST /webhooks/messenger`)."""

    app_secret: SecretSource = SecretSource(env="MESSENGER_APP_SECRET")
    verify_token: SecretSource = SecretSource(env="MESSENGER_VERIFY_TOKEN")
    page_access_token: SecretSource = SecretSource(env="MESSENGER_PAGE_ACCESS_TOKEN")
    page_id: str | None = None
    graph_base_url: str = "https://graph.facebook.com/v21.0"
    human_agent_tag: bool = False  # the Page has Meta's Human Agent permission: a person may answer for 7 days
    rate: RateLimit = RateLimit(messages_per_second=20.0)


class LineSettings(ProviderSettings):
    """LINE, a LINE Official Account, through the Messaging API (`POST /webhooks/line`)."""

    channel_secret: SecretSource = SecretSource(env="LINE_CHANNEL_SECRET")
    channel_access_token: SecretSource = SecretSource(env="LINE_CHANNEL_ACCESS_TOKEN")
    api_base_url: str = "https://api.line.me"
    data_api_base_url: str = "https://api-data.line.me"
    monthly_push_quota: Annotated[int, Field(ge=0)] | None = None  # lower than LINE's own (the plan's) to keep a reserve
    quota_warning_share: Annotated[float, Field(gt=0, le=1)] = 0.8
    rate: RateLimit = RateLimit(messages_per_second=20.0)


class VoiceSettings(Frozen):
    """A voice line on the hotline's Twilio number (`POST /webhooks/voice...`; channels/voice/).

    It uses the Twilio account of `channels.twilio` (its `account_sid`, `auth_token` and
    `api_base_url`): the same number takes calls and messages. Every bound here is a cost
    or a line a caller could hold.
    """

    enabled: bool = False
    max_call_seconds: Annotated[int, Field(ge=60, le=4 * 3600)] = 900  # <Dial>-less calls: Twilio's timeLimit
    max_record_seconds: Annotated[int, Field(ge=10, le=600)] = 180  # "tell us what happened"
    max_answer_seconds: Annotated[int, Field(ge=10, le=600)] = 120  # an answer into a case, on a call back
    silence_seconds: Annotated[int, Field(ge=2, le=30)] = 6  # silence that ends a recording
    keypad_seconds: Annotated[int, Field(ge=3, le=30)] = 8  # time to press a key before the prompt is said again
    calls_per_caller: Annotated[int, Field(ge=1, le=5)] = 1  # calls one number may have open at once
    recording_max_bytes: Annotated[int, Field(ge=100_000, le=50_000_000)] = 12_000_000
    prompts_dir: str | None = None  # recorded prompts: <dir>/<language>/<key>.mp3 (or .wav), played instead of speech


class Channels(Frozen):
    console: ChannelSettings = ChannelSettings(enabled=True)
    twilio: TwilioSettings = TwilioSettings()
    whatsapp_cloud: WhatsAppCloudSettings = WhatsAppCloudSettings()
    telegram: TelegramSettings = TelegramSettings()
    messenger: MessengerSettings = MessengerSettings()
    line: LineSettings = LineSettings()
    voice: VoiceSettings = VoiceSettings()
