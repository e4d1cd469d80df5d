"""The crypto module's properties: plaintext absent, wrong key or context fails, rotation keeps data readable."""

from __future__ import annotations

import pytest

from storage import crypto

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


def make_secrets(keys: dict[int, bytes] | None = None, active: int = 1, pepper: bytes | None = None):
    identity, recipient = crypto.new_operator_keypair()
    keyring = crypto.DataKeyring(keys=keys or {1: crypto.new_data_key()}, active_id=active)
    return crypto.ServerSecrets(pepper=pepper or crypto.new_pepper(), data_keys=keyring, operator_recipients=(recipient,)), identity


def test_blind_indexes_are_stable_keyed_and_separated_by_purpose():
    secrets, _ = make_secrets()
    other, _ = make_secrets()
    lookup = crypto.conversation_lookup(secrets, "sms", "+8801711000000")
    assert lookup == crypto.conversation_lookup(secrets, "sms", "+8801711000000")
    assert lookup != crypto.conversation_lookup(secrets, "whatsapp", "+8801711000000")
    assert lookup != crypto.conversation_lookup(other, "sms", "+8801711000000")  # another pepper
    assert lookup != crypto.sender_pseudonym(secrets, "sms", "+8801711000000")
    assert "8801711000000" not in lookup
    assert crypto.case_code_lookup(secrets, "12345678901234") != crypto.case_code_lookup(other, "12345678901234")


@pytest.mark.parametrize(
    ("encrypt", "decrypt"),
    [
        (crypto.encrypt_draft, crypto.decrypt_draft),
        (crypto.encrypt_reply_address, crypto.decrypt_reply_address),
        (crypto.encrypt_case_message, crypto.decrypt_case_message),
    ],
)
def test_server_ciphertext_round_trips_and_hides_plaintext(encrypt, decrypt):
    secrets, _ = make_secrets()
    plaintext = "মালিক বেতন দেয়নি +8801711000000".encode()
    blob = encrypt(secrets, "row-1", plaintext)
    assert plaintext not in blob and b"8801711000000" not in blob
    assert blob[0] == crypto.AEAD_V1
    assert decrypt(secrets, "row-1", blob) == plaintext
    assert encrypt(secrets, "row-1", plaintext) != blob  # fresh nonce each time


def test_server_ciphertext_is_bound_to_purpose_row_and_key():
    secrets, _ = make_secrets()
    blob = crypto.encrypt_draft(secrets, "row-1", b"draft")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_draft(secrets, "row-2", blob)  # moved to another row
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_reply_address(secrets, "row-1", blob)  # used for another purpose
    stranger, _ = make_secrets(keys={1: crypto.new_data_key()})
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_draft(stranger, "row-1", blob)  # wrong key with the same id
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_draft(secrets, "row-1", tampered)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_draft(secrets, "row-1", b"\x09" + blob[1:])  # unknown format version


def test_rotation_keeps_old_ciphertext_readable_and_rewrites_it():
    old_key, new_key = crypto.new_data_key(), crypto.new_data_key()
    before, _ = make_secrets(keys={1: old_key})
    blob = crypto.encrypt_draft(before, "row", b"kept across rotation")
    after = crypto.ServerSecrets(
        pepper=before.pepper, data_keys=crypto.DataKeyring({1: old_key, 2: new_key}, 2),
        operator_recipients=before.operator_recipients,
    )
    assert crypto.decrypt_draft(after, "row", blob) == b"kept across rotation"
    rewritten = crypto.reencrypt_with_active_key(after, "draft", "row", blob)
    assert crypto.data_key_id_of(blob) == 1 and crypto.data_key_id_of(rewritten) == 2
    only_new = crypto.ServerSecrets(
        pepper=before.pepper, data_keys=crypto.DataKeyring({2: new_key}, 2), operator_recipients=before.operator_recipients
    )
    assert crypto.decrypt_draft(only_new, "row", rewritten) == b"kept across rotation"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_draft(only_new, "row", blob)


def test_sealed_case_opens_only_with_the_operator_key():
    secrets, identity = make_secrets()
    record = '{"description": "ওরা আমাদের পাসপোর্ট নিয়ে গেছে"}'.encode()
    sealed = crypto.seal_case(secrets, record)
    assert sealed.startswith(crypto.SEAL_V1)
    assert record not in sealed and "পাসপোর্ট".encode() not in sealed
    assert crypto.open_case([identity], sealed) == record
    other_identity, _ = crypto.new_operator_keypair()
    with pytest.raises(crypto.DecryptionError):
        crypto.open_case([other_identity], sealed)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_case([identity], b"not sealed")


def test_case_sealed_to_several_operators_opens_with_each():
    first_identity, first = crypto.new_operator_keypair()
    second_identity, second = crypto.new_operator_keypair()
    secrets = crypto.ServerSecrets(
        pepper=crypto.new_pepper(), data_keys=crypto.DataKeyring({1: crypto.new_data_key()}, 1), operator_recipients=(first, second)
    )
    sealed = crypto.seal_case(secrets, b"case")
    assert crypto.open_case([first_identity], sealed) == crypto.open_case([second_identity], sealed) == b"case"


def test_operator_store_records_need_the_same_operator_key():
    identity, _ = crypto.new_operator_keypair()
    other, _ = crypto.new_operator_keypair()
    key = crypto.operator_store_key(identity)
    blob = crypto.encrypt_store_record(key, "case-1", b"the case")
    assert b"the case" not in blob
    assert crypto.decrypt_store_record(key, "case-1", blob) == b"the case"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_store_record(crypto.operator_store_key(other), "case-1", blob)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_store_record(key, "case-2", blob)


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_secrets(pepper=b"short"),
        lambda: crypto.DataKeyring({1: b"x" * 16}, 1),
        lambda: crypto.DataKeyring({1: crypto.new_data_key()}, 2),
        lambda: crypto.ServerSecrets(crypto.new_pepper(), crypto.DataKeyring({1: crypto.new_data_key()}, 1), ("age1notakey",)),
        lambda: crypto.ServerSecrets(crypto.new_pepper(), crypto.DataKeyring({1: crypto.new_data_key()}, 1), ()),
        lambda: crypto.operator_store_key("AGE-SECRET-KEY-1NOTAKEY"),
    ],
)
def test_bad_key_material_is_refused_with_a_typed_error(build):
    with pytest.raises(crypto.KeyMaterialError):
        build()


def test_secrets_repr_shows_no_key_material():
    secrets, _ = make_secrets()
    assert secrets.pepper.hex() not in repr(secrets)
    assert crypto.encode_key(secrets.pepper) not in repr(secrets)


def test_constant_time_equal():
    assert crypto.constant_time_equal("abc", "abc")
    assert not crypto.constant_time_equal("abc", "abd")
    assert not crypto.constant_time_equal(b"abc", b"abcd")


def test_sealed_case_signature_covers_the_case_id_and_every_byte():
    secrets, identity = make_secrets()
    key = crypto.new_signing_key()
    trusted = [crypto.signing_public_key(key)]
    sealed = crypto.seal_case(secrets, b'{"case_id": "c1"}')
    signed = crypto.sign_sealed_case(key, "c1", sealed)
    assert crypto.verify_sealed_case(trusted, "c1", signed) == sealed
    assert crypto.open_case([identity], signed) == b'{"case_id": "c1"}'  # opens; authenticity is verify's job
    refusals = {
        "another case id": ("c2", signed, "bad_signature"),
        "tampered": ("c1", signed[:-1] + bytes([signed[-1] ^ 1]), "bad_signature"),
        "signature tampered": ("c1", signed[:10] + bytes([signed[10] ^ 1]) + signed[11:], "bad_signature"),
        "another server's key": ("c1", crypto.sign_sealed_case(crypto.new_signing_key(), "c1", sealed), "bad_signature"),
        "unsigned": ("c1", sealed, "unsigned"),
        "cut short": ("c1", signed[:20], "unsigned"),
    }
    for name, (case_id, blob, kind) in refusals.items():
        with pytest.raises(crypto.SignatureError) as raised:
            crypto.verify_sealed_case(trusted, case_id, blob)
        assert raised.value.kind == kind, name
    with pytest.raises(crypto.KeyMaterialError):
        crypto.verify_sealed_case([], "c1", signed)
    with pytest.raises(crypto.KeyMaterialError):
        crypto.parse_signing_public_key("grievance-intake-ed25519:notbase64!")
