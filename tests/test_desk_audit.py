"""The desk's audit log against someone who can write the store: a database admin, or anyone with the file.

The second security audit (issue 20) deleted two `case_opened` lines, recomputed the hashes and the
head, and `desk audit verify` said "chain intact". The tests here play that attacker with
everything a database writer has: the lines, the code (the algorithm is public), the head table.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, text

from bot.cli import cli
from desk.store import DeskStore
from desk.operator_store import OperatorStore, store_location
from storage.keys import load_operator_identity


def run(settings, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)


def desk_store(settings) -> DeskStore:
    """The desk's store as `grievance desk ...` opens it: heads go to operator.audit_heads_file."""
    from desk.audit import heads_file_of

    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    return DeskStore(OperatorStore(store_location(settings), identity), heads_file_of(settings))


def plain_hash(prev_hash, seq, at, actor, action, target, detail) -> str:
    """The chain's old algorithm, which anyone can run: SHA-256 over the line and the hash before it."""
    line = json.dumps([prev_hash, seq, at, actor, action, target, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(line.encode()).hexdigest()


def rewrite_without(engine, drop: set[int]) -> None:
    """What a database writer does: remove lines, renumber, recompute every hash and the head."""
    from desk.audit import desk_audit, desk_audit_head

    with engine.begin() as connection:
        rows = connection.execute(select(desk_audit).order_by(desk_audit.c.seq)).mappings().all()
        connection.execute(delete(desk_audit))
        prev, seq = "genesis", 0
        for row in rows:
            if row["seq"] in drop:
                continue
            seq += 1
            digest = plain_hash(prev, seq, row["at"], row["actor"], row["action"], row["target"], row["detail"])
            connection.execute(insert(desk_audit).values(seq=seq, at=row["at"], actor=row["actor"], action=row["action"],
                                                        target=row["target"], detail=row["detail"], prev_hash=prev, hash=digest))
            prev = digest
        connection.execute(text("DELETE FROM desk_audit_head"))
        connection.execute(insert(desk_audit_head).values(name="head", seq=seq, hash=prev))


def test_deleting_two_lines_and_recomputing_the_chain_is_seen(services):
    settings = services.settings
    store = desk_store(settings)
    try:
        store.audit("ada", "sign_in", "ada")
        for n in range(6):
            store.audit("cai", "case_opened", f"case-{n}")
        store.audit("cai", "note_added", "case-5")
        assert run(settings, "desk", "audit", "verify").exit_code == 0
        rewrite_without(store.engine, {3, 5})  # two case_opened lines
    finally:
        store.close()
    result = run(settings, "desk", "audit", "verify")
    assert result.exit_code == 1, result.output


# ---------------------------------------------------------------- what a database writer can and cannot do

def some_lines(store) -> None:
    store.audit("ada", "sign_in", "ada")
    for n in range(6):
        store.audit("cai", "case_opened", f"case-{n}")
    store.audit("cai", "note_added", "case-5")


def recompute(engine, edit, mac) -> None:
    """Apply `edit` to the list of lines, then renumber them and recompute every hash with `mac`, and the head."""
    from desk.audit import desk_audit, desk_audit_head

    with engine.begin() as connection:
        rows = [dict(row) for row in connection.execute(select(desk_audit).order_by(desk_audit.c.seq)).mappings()]
        connection.execute(delete(desk_audit))
        prev = "genesis"
        for seq, row in enumerate(edit(rows), 1):
            fields = (prev, seq, row["at"], row["actor"], row["action"], row["target"], row["detail"])
            row.update(seq=seq, prev_hash=prev, hash=mac(*fields))
            connection.execute(insert(desk_audit).values(**row))
            prev = row["hash"]
        connection.execute(text("DELETE FROM desk_audit_head"))
        connection.execute(insert(desk_audit_head).values(name="head", seq=len(rows) and seq, hash=prev))


def keyed_with_another_operator_key(tmp_path):
    """The chain's own algorithm, keyed with an operator key the attacker made for themselves."""
    from desk.audit import LINE_FORMAT
    from storage import crypto
    from storage.crypto import desk_secrets

    identity, _recipient = crypto.new_operator_keypair()
    key = desk_secrets.desk_audit_chain_key(crypto.operator_store_key(identity))

    def mac(*fields) -> str:
        line = json.dumps([LINE_FORMAT, *fields], ensure_ascii=False, separators=(",", ":"))
        return desk_secrets.audit_line_mac(key, line.encode())

    return mac


EDITS = {
    "two case_opened lines removed": lambda rows: [r for r in rows if r["target"] not in ("case-1", "case-3")],
    "an actor changed": lambda rows: [{**r, "actor": "someone-else"} if r["target"] == "case-2" else r for r in rows],
    "two lines swapped": lambda rows: rows[:2] + [rows[3], rows[2]] + rows[4:],
    "a line added": lambda rows: rows[:4] + [{**rows[3], "actor": "ada"}] + rows[4:],
    "nothing changed, only rehashed": lambda rows: rows,
}


@pytest.mark.parametrize("algorithm", ["plain sha-256", "another operator key"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_a_store_writer_who_edits_and_recomputes_the_chain_is_seen(services, tmp_path, edit, algorithm):
    settings = services.settings
    store = desk_store(settings)
    try:
        some_lines(store)
        mac = plain_hash if algorithm == "plain sha-256" else keyed_with_another_operator_key(tmp_path)
        recompute(store.engine, EDITS[edit], mac)
        whole, summary = store.verify_audit()  # no heads at all: the store alone tells
    finally:
        store.close()
    assert not whole, summary
    assert "was changed, or written without this desk's key" in summary or "none of the" in summary
    assert run(settings, "desk", "audit", "verify").exit_code == 1


def test_lines_cut_off_the_end_are_seen_against_the_heads_kept_outside_the_store(services, tmp_path):
    from desk.audit import heads_file_of

    settings = services.settings
    heads = heads_file_of(settings)
    store = desk_store(settings)
    try:
        some_lines(store)  # the desk writes a head on its first line ...
    finally:
        store.close()  # ... and of its last one when it stops
    assert heads.read_text().count("grievance-desk-audit-head/1") == 2 and oct(heads.stat().st_mode & 0o777) == "0o600"
    outside = tmp_path / "board-member-copy.txt"
    outside.write_text(heads.read_text())
    result = run(settings, "desk", "audit", "verify")
    assert result.exit_code == 0 and "8 lines, chain intact" in result.output and "2 head(s) kept outside the store agree" in result.output
    from desk.audit import desk_audit

    store = desk_store(settings)
    with store.engine.begin() as connection:  # cut the last two lines (keyed, so no rehash is needed) and fix the head
        connection.execute(text("DELETE FROM desk_audit WHERE seq > 6"))
        last = connection.execute(select(desk_audit.c.hash).where(desk_audit.c.seq == 6)).scalar_one()
        connection.execute(text("UPDATE desk_audit_head SET seq = 6, hash = :hash"), {"hash": last})
    assert store.verify_audit()[0], "the store alone cannot tell a cut-off end"
    store.cases.close()
    assert run(settings, "desk", "audit", "verify").exit_code == 1, "the heads file of this machine"
    heads.unlink()
    no_heads = run(settings, "desk", "audit", "verify")
    assert no_heads.exit_code == 0 and "no head kept outside the store was checked" in no_heads.output
    cut = run(settings, "desk", "audit", "verify", "--head", str(outside))
    assert cut.exit_code == 1 and "lines were" in cut.output, cut.output


def test_a_head_not_signed_by_this_desk_is_refused(services):
    from desk.audit import HEAD_FORMAT

    settings = services.settings
    store = desk_store(settings)
    some_lines(store)
    entry = store.audit_entries()[-1]
    store.close()
    forged = f"{HEAD_FORMAT} 2026-11-20T09:00:00Z {entry.seq} {entry.hash} {'A' * 86}=="
    result = run(settings, "desk", "audit", "verify", "--head", forged)
    assert result.exit_code == 1 and "not a head signed by this desk's key" in result.output
    assert run(settings, "desk", "audit", "verify", "--head", "not a head").exit_code == 1


def test_a_running_desk_sees_the_log_cut_under_it_and_keeps_the_head_it_lost(services):
    from desk.audit import heads_file_of

    settings = services.settings
    store = desk_store(settings)
    try:
        some_lines(store)
        lost = store.audit_entries()[-1]
        with store.engine.begin() as connection:  # meanwhile, a database writer cuts the last three lines
            connection.execute(text("DELETE FROM desk_audit WHERE seq > 5"))
            connection.execute(text("UPDATE desk_audit_head SET seq = 5"))
        store.audit("cai", "case_opened", "case-9")  # the desk goes on
        assert f" {lost.seq} {lost.hash} " in heads_file_of(settings).read_text()
    finally:
        store.close()
    result = run(settings, "desk", "audit", "verify")
    assert result.exit_code == 1 and "saw line 8" in result.output and "lines were cut off" in result.output, result.output


def test_a_head_is_written_at_most_a_day_apart_and_on_demand(services):
    from datetime import UTC, datetime, timedelta

    from desk.audit import heads_file_of

    settings = services.settings
    heads = heads_file_of(settings)
    store = desk_store(settings)
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    try:
        for hour in range(0, 72, 2):  # three days of work, a line every two hours
            store.audit("cai", "case_opened", f"case-{hour}", now=start + timedelta(hours=hour))
        assert heads.read_text().count("\n") == 3
    finally:
        store.close()
    assert heads.read_text().count("\n") == 4, "and one when the desk stops"
    result = run(settings, "desk", "audit", "anchor")
    line = result.output.strip()
    assert result.exit_code == 0 and line.startswith("grievance-desk-audit-head/1 ") and heads.read_text().endswith(line + "\n")
    assert run(settings, "desk", "audit", "verify", "--head", line).exit_code == 0


def test_a_log_written_before_the_chain_was_keyed_is_sealed_by_its_first_keyed_line(services):
    settings = services.settings
    store = desk_store(settings)
    some_lines(store)
    recompute(store.engine, lambda rows: rows, plain_hash)  # what a desk of the previous version wrote
    store.cases.close()
    before = run(settings, "desk", "audit", "verify", "--head", "/dev/null")
    assert before.exit_code == 1 and "no desk of this version has written to it yet" in before.output
    store = desk_store(settings)
    store.audit("ada", "sign_in", "ada")  # the first line of the upgraded desk
    whole, summary = store.verify_audit()
    assert whole and "lines 1 to 8 were written before the chain was keyed, and line 9 seals them" in summary
    recompute(store.engine, EDITS["two case_opened lines removed"], plain_hash)
    store.cases.close()
    assert run(settings, "desk", "audit", "verify", "--head", "/dev/null").exit_code == 1
