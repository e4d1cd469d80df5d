"""A voice line on the hotline's Twilio number: a caller who cannot read reports by keypad and voice.

`adapter` (the webhooks), `flow` (the call as steps), `calls` (a call's state in the database),
`recordings` (fetched, deleted at Twilio, cleaned like a voice note), `speech` (recorded prompts or
Twilio's text-to-speech, per language). Set-up: docs/channels.md, "A voice line".
"""

from .adapter import VoiceAdapter

__all__ = ["VoiceAdapter"]
