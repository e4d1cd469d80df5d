"""The suite's PostgreSQL databases: named per run, so concurrent runs never collide; only dead runs' leftovers are dropped."""

from __future__ import annotations

import os
import subprocess

from databases import PG_HOST_TAG, PG_PREFIX, PG_RUN, PG_TEMPLATE, drop_leftovers, new_database_name, pg_admin


def _databases() -> set[str]:
    return {row[0] for row in pg_admin(f"SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}\\_%'")}


def test_names_carry_this_runs_host_and_pid():
    assert PG_RUN.startswith(f"{PG_PREFIX}_{PG_HOST_TAG}_{os.getpid()}_")
    assert PG_TEMPLATE.startswith(PG_RUN)
    first, second = new_database_name("t"), new_database_name("t")
    assert first != second and first.startswith(PG_RUN) and len(first) < 63  # PostgreSQL's limit on names


def test_leftovers_of_a_dead_run_are_dropped_and_nobody_elses(postgres_server):
    dead_pid = subprocess.Popen(["true"])  # a pid that no longer runs
    dead_pid.wait()
    dead = f"{PG_PREFIX}_{PG_HOST_TAG}_{dead_pid.pid}_abcdef_t1"
    alive = f"{PG_PREFIX}_{PG_HOST_TAG}_{os.getppid()}_abcdef_t1"  # a concurrent run: its pid runs
    other_host = f"{PG_PREFIX}_000000_{dead_pid.pid}_abcdef_t1"
    mine = new_database_name("x")
    names = (dead, alive, other_host, mine)
    try:
        for name in names:
            pg_admin(f"CREATE DATABASE {name}")
        drop_leftovers()
        assert {name for name in names if name in _databases()} == {alive, other_host, mine}
    finally:
        for name in names:
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
