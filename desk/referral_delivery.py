"""Delivering a sealed referral to the company: a signed POST to its webhook, or an e-mail with the file attached.

What travels is only the sealed file (age, to the company's key) and the referral's id: an
e-mail's subject and text name the mechanism, the reference and the day to answer by, never
anything of the case. Each failure is a `DeliveryError` with a short `kind` (http_503,
timeout, smtp_535...) that goes into the desk's records and audit log, and says whether
trying again can help; never a server's own words, which may echo an address.

The webhook is signed like the queue's webhook sink (storage/sinks/webhook.py):
`X-Grievance-Timestamp` (unix seconds) and `X-Grievance-Signature: v1=<hex HMAC-SHA256(secret,
"timestamp.body")>`, with the company's own secret, and `Idempotency-Key: <referral id>`;
https only, no redirects, no proxy from the environment. E-mail goes through the configured
server with STARTTLS (or TLS from the start), never in plain text.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from bot.config import ReferralEmail
from storage import crypto

SCHEMA = "grievance.referral/1"
RETRYABLE_STATUS = frozenset({408, 425, 429})


class DeliveryError(Exception):
    """A delivery that did not go through; `kind` is short and safe to keep, `retryable` says whether to try again."""

    def __init__(self, kind: str, retryable: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retryable = retryable


def webhook_body(referral_id: str, file_name: str, sealed: bytes) -> bytes:
    document = {"schema": SCHEMA, "referral_id": referral_id, "file_name": file_name, "sealed": base64.b64encode(sealed).decode()}
    return json.dumps(document, separators=(",", ":")).encode()


def post_webhook(url: str, secret: str, referral_id: str, file_name: str, sealed: bytes, *, timeout: float = 10,
                 ca_file: str | None = None, clock: Callable[[], float] = time.time) -> None:
    """POST the sealed referral to the company's endpoint, signed with its secret; DeliveryError unless a 2xx."""
    if not url.startswith("https://"):
        raise DeliveryError("not_https", retryable=False)
    body = webhook_body(referral_id, file_name, sealed)
    timestamp = int(clock())
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": referral_id,
        "X-Grievance-Timestamp": str(timestamp),
        "X-Grievance-Signature": crypto.sign_webhook(secret.strip().encode(), timestamp, body),
        "User-Agent": "grievance-hotline",
    }
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    try:
        with httpx.Client(verify=verify, timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryError("timeout", retryable=True) from None
    except httpx.TransportError:
        raise DeliveryError("unreachable", retryable=True) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    raise DeliveryError(f"http_{status}", retryable=status >= 500 or status in RETRYABLE_STATUS)


def referral_email(*, from_address: str, to: str, mechanism: str, referral_id: str, respond_by: str, reply_to: str,
                   file_name: str, sealed: bytes) -> EmailMessage:
    """The e-mail a company gets: who sends it, the reference, the day to answer by, and the sealed file; nothing of the case."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = f"Referral {referral_id[:8]} from {mechanism}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    answer_to = f" to {reply_to}" if reply_to else ""
    message.set_content(
        f"{mechanism} refers a problem reported to it to your company.\n\n"
        f"The details are in the attached file, encrypted to your organisation's age key. Open it with:\n"
        f"    age -d -i your-key.txt {file_name}\n\n"
        f"Please answer by {respond_by}{answer_to}, quoting referral {referral_id}, with what you found and what you "
        "will do to remedy it.\n"
    )
    message.add_attachment(sealed, maintype="application", subtype="octet-stream", filename=file_name)
    return message


def send_email(config: ReferralEmail, password: str | None, message: EmailMessage, *, ca_file: str | None = None) -> None:
    """Send `message` through the configured server, over TLS; DeliveryError when it is not accepted."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    try:
        if config.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_seconds, context=context)
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        with server:
            if config.security == "starttls":
                server.ehlo()
                if not server.has_extn("starttls"):
                    raise DeliveryError("smtp_no_starttls", retryable=False)  # never fall back to plain text
                server.starttls(context=context)
                server.ehlo()
            if config.username:
                server.login(config.username, password or "")
            refused = server.send_message(message)
            if refused:
                raise DeliveryError("smtp_recipient_refused", retryable=False)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError("smtp_auth", retryable=False) from None
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise DeliveryError(f"smtp_{codes[0] if codes else 'refused'}", retryable=all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(f"smtp_{error.smtp_code}", retryable=400 <= error.smtp_code < 500) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError("smtp_not_supported", retryable=False) from None
    except ssl.SSLError:
        raise DeliveryError("tls", retryable=True) from None
    except (TimeoutError, smtplib.SMTPServerDisconnected) as error:
        raise DeliveryError("timeout" if isinstance(error, TimeoutError) else "smtp_disconnected", retryable=True) from None
    except (OSError, smtplib.SMTPException):
        raise DeliveryError("unreachable", retryable=True) from None
