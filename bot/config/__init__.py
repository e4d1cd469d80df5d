"""Configuration: `config.yaml` read and validated once, into immutable objects.

Everything a deployment can change without code (languages, questions, their
order, categories, emergency contacts, time limits, paths) lives here. Secrets
never do: the config only names the file or environment variable that holds
each one. Any problem stops start-up with `ConfigError`, whose message is one
line naming the key and what is wrong.

One module per part of the file; every name is imported from here (`from bot.config import X`):
- `base`: the frozen base of every section, `ConfigError`, `SecretSource`, the URL checks;
- `conversation`: deployment, flow and its questions, session, limits, nlu;
- `queues`: where sealed cases go (embedded, Redis, RabbitMQ, webhook);
- `channels`: the console and each provider's settings and send rate;
- `server`: paths, key files, logging, the server's address, retention, the STATUS throttle,
  what cleaning one attachment may cost;
- `duty`: the duty roster's policy and mail server, and the roster file's people;
- `operator_side`: the operator's keys and store, service levels, the operator API and its client;
- `referrals`: the company's time to answer a referral, and how referrals are delivered;
- `loading`: `Settings` (the whole file) and reading it;
- `checks`: what is checked across the config and the catalogs at start-up.
"""

from .base import ConfigError, SecretSource, is_database_url
from .channels import (
    CHANNEL_TYPES,
    ChannelSettings,
    Channels,
    LineSettings,
    MessengerSettings,
    ProviderSettings,
    RateLimit,
    TelegramSettings,
    TwilioSettings,
    VoiceSettings,
    WhatsAppCloudSettings,
)
from .duty import DUTY_WAYS, Duty, DutyPerson, DutySmtp, parse_roster
from .checks import REAL_CHANNELS, check_deployment
from .conversation import DEFAULT_QUESTIONS, QUESTION_KINDS, TAXONOMY, Deployment, Flow, Limits, Nlu, Question, Session
from .loading import Settings, load_settings, settings_from_mapping
from .operator_side import Operator, OperatorApi, OperatorClient, ServiceLevels
from .queues import Queue, RabbitQueue, RedisQueue, WebhookQueue
from .referrals import Referral, ReferralEmail, ReferralWebhook
from .server import Logging, MediaCleaning, Paths, Retention, Secrets, Server, StatusThrottle, VoiceDisguise

__all__ = [
    "CHANNEL_TYPES",
    "DEFAULT_QUESTIONS",
    "DUTY_WAYS",
    "QUESTION_KINDS",
    "REAL_CHANNELS",
    "TAXONOMY",
    "ChannelSettings",
    "Channels",
    "ConfigError",
    "Deployment",
    "Duty",
    "DutyPerson",
    "DutySmtp",
    "Flow",
    "Limits",
    "LineSettings",
    "Logging",
    "MediaCleaning",
    "MessengerSettings",
    "Nlu",
    "Operator",
    "OperatorApi",
    "OperatorClient",
    "Paths",
    "ProviderSettings",
    "Queue",
    "Question",
    "RabbitQueue",
    "RateLimit",
    "RedisQueue",
    "Referral",
    "ReferralEmail",
    "ReferralWebhook",
    "Retention",
    "SecretSource",
    "Secrets",
    "Server",
    "ServiceLevels",
    "Session",
    "Settings",
    "StatusThrottle",
    "TelegramSettings",
    "TwilioSettings",
    "VoiceDisguise",
    "VoiceSettings",
    "WebhookQueue",
    "WhatsAppCloudSettings",
    "check_deployment",
    "is_database_url",
    "load_settings",
    "parse_roster",
    "settings_from_mapping",
]
