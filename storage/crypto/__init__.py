"""All cryptography of the hotline, in one place, with purpose-named functions.

Nothing else in the code base touches a key or calls a cipher. Three kinds of
protection are used, each for one purpose:

* **Blind indexes** (HMAC-SHA256): find a worker's conversation, or a case by its
  code, without storing the address or the code. Each purpose has its own
  subkey derived from the server pepper with HKDF, so an index of one kind can
  never be matched against another.
* **Server data key** (AES-256-GCM): drafts in progress and reply addresses that
  the intake server itself must read back. Ciphertext is versioned and names
  the key that made it, so the key can be rotated while old data still opens.
  Associated data binds each ciphertext to its purpose and its row, so a blob
  copied into another row or field fails to open.
* **Operator seal** (age, X25519, through pyrage): a confirmed case is sealed to
  the operator's public key(s). The intake server holds no private key and
  cannot read a confirmed case back (the SecureDrop property).

Callers use this package as one module (`from storage import crypto; crypto.encrypt_draft(...)`);
its parts, by purpose:
- `errors`: the typed errors, all under `CryptoError`; `formats`: every ciphertext format and key size;
- `server_keys`: the pepper, the data keyring, key generation and text form;
- `blind_indexes`: the keyed lookups and pseudonyms, and the constant-time comparison;
- `at_rest`: what the intake server encrypts with its data key (drafts, addresses, outbound...);
- `age_keys`: the operator's age keys; `sealing`: sealing to the operator and to companies, exports;
- `signatures`: the intake server's signature on sealed cases, and webhook signatures;
- `desk_secrets`: the operator store's key and records, the desk's notes, companies' answers, TOTP seeds and sessions;
- `tokens`: operator API tokens.
"""

from .age_keys import new_operator_keypair, operator_recipient_of, protect_identity, unlock_identity
from .at_rest import _aead_encrypt as _aead_encrypt  # the tests forge a ciphertext under a retired key with it
from .at_rest import (
    data_key_id_of,
    decrypt_answer_window,
    decrypt_case_message,
    decrypt_chat_refs,
    decrypt_draft,
    decrypt_draft_media,
    decrypt_outbound,
    decrypt_reply_address,
    encrypt_answer_window,
    encrypt_case_message,
    encrypt_chat_refs,
    encrypt_draft,
    encrypt_draft_media,
    encrypt_outbound,
    encrypt_reply_address,
    reencrypt_with_active_key,
)
from .blind_indexes import (
    case_code_lookup,
    chat_refs_lookup,
    constant_time_equal,
    conversation_lookup,
    inbound_receipt_key,
    opt_out_lookup,
    outbound_chat_lookup,
    sender_pseudonym,
    voice_disguise_seed,
)
from .desk_secrets import (
    decrypt_company_answer,
    decrypt_company_answer_file,
    decrypt_desk_note,
    decrypt_status_reason,
    decrypt_store_record,
    decrypt_totp_secret,
    decrypt_triage_reason,
    desk_session_key,
    encrypt_company_answer,
    encrypt_company_answer_file,
    encrypt_desk_note,
    encrypt_status_reason,
    encrypt_store_record,
    encrypt_totp_secret,
    encrypt_triage_reason,
    operator_store_key,
)
from .errors import CryptoError, DecryptionError, KeyMaterialError, SignatureError
from .formats import AEAD_V1, ANSWER_SEAL_V1, SEAL_V1, SIGNED_V1, STORE_V1
from .sealing import (
    decrypt_export_stream,
    encrypt_export_stream,
    export_recipients,
    open_case,
    open_worker_answer,
    seal_case,
    seal_referral,
    seal_worker_answer,
)
from .server_keys import DataKeyring, ServerSecrets, decode_key, encode_key, new_data_key, new_pepper
from .signatures import (
    SIGNING_PUBLIC_PREFIX,
    WEBHOOK_SIGNATURE_VERSION,
    new_signing_key,
    parse_signing_public_key,
    sign_sealed_case,
    sign_webhook,
    signing_public_key,
    verify_sealed_case,
    verify_webhook_signature,
)
from .tokens import API_TOKEN_PREFIX, api_token_hash, api_token_id, new_api_token

__all__ = [
    "AEAD_V1",
    "ANSWER_SEAL_V1",
    "API_TOKEN_PREFIX",
    "SEAL_V1",
    "SIGNED_V1",
    "SIGNING_PUBLIC_PREFIX",
    "STORE_V1",
    "WEBHOOK_SIGNATURE_VERSION",
    "CryptoError",
    "DataKeyring",
    "DecryptionError",
    "KeyMaterialError",
    "ServerSecrets",
    "SignatureError",
    "api_token_hash",
    "api_token_id",
    "case_code_lookup",
    "chat_refs_lookup",
    "constant_time_equal",
    "conversation_lookup",
    "data_key_id_of",
    "decode_key",
    "decrypt_answer_window",
    "decrypt_case_message",
    "decrypt_chat_refs",
    "decrypt_company_answer",
    "decrypt_company_answer_file",
    "decrypt_desk_note",
    "decrypt_draft",
    "decrypt_draft_media",
    "decrypt_export_stream",
    "decrypt_outbound",
    "decrypt_reply_address",
    "decrypt_status_reason",
    "decrypt_store_record",
    "decrypt_totp_secret",
    "decrypt_triage_reason",
    "desk_session_key",
    "encode_key",
    "encrypt_answer_window",
    "encrypt_case_message",
    "encrypt_chat_refs",
    "encrypt_company_answer",
    "encrypt_company_answer_file",
    "encrypt_desk_note",
    "encrypt_draft",
    "encrypt_draft_media",
    "encrypt_export_stream",
    "encrypt_outbound",
    "encrypt_reply_address",
    "encrypt_status_reason",
    "encrypt_store_record",
    "encrypt_totp_secret",
    "encrypt_triage_reason",
    "export_recipients",
    "inbound_receipt_key",
    "new_api_token",
    "new_data_key",
    "new_operator_keypair",
    "new_pepper",
    "new_signing_key",
    "open_case",
    "open_worker_answer",
    "operator_recipient_of",
    "operator_store_key",
    "opt_out_lookup",
    "outbound_chat_lookup",
    "parse_signing_public_key",
    "protect_identity",
    "reencrypt_with_active_key",
    "seal_case",
    "seal_referral",
    "seal_worker_answer",
    "sender_pseudonym",
    "sign_sealed_case",
    "sign_webhook",
    "signing_public_key",
    "unlock_identity",
    "verify_sealed_case",
    "verify_webhook_signature",
    "voice_disguise_seed",
]
