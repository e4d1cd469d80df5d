"""The intake server never imports the operator's desk.

Two trust zones, two folders (SecureDrop's source_app and journalist_app): `bot/`, `channels/`,
`nlu/` and `storage/` are the intake server; `desk/` holds the operator's key, store and tools.
The one `grievance` command names the desk's commands in one place (DESK_COMMANDS in bot/cli.py)
and imports them only when one is called.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).parents[1]
INTAKE_PACKAGES = ("bot", "channels", "nlu", "storage")
# Alembic's env.py runs a migration when imported: it is only ever loaded by alembic itself.
NOT_IMPORTABLE_ALONE = {"storage.migrations.env"}
DESK_MODULE = re.compile(r"^desk(\.\w+)*$")


def _sources() -> list[Path]:
    return sorted(path for package in INTAKE_PACKAGES for path in (ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _desk_loaded_after(code: str) -> list[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if m == 'desk' or m.startswith('desk.'))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_every_module_of_the_intake_server_loads_nothing_of_the_desk():
    modules = [_module_name(path) for path in _sources() if _module_name(path) not in NOT_IMPORTABLE_ALONE]
    assert {"bot.cli", "bot.app", "bot.server", "bot.operator_api", "storage.cases", "channels.twilio"} <= set(modules)
    imports = f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)"
    assert _desk_loaded_after(imports) == []


def test_the_help_and_a_server_command_load_nothing_of_the_desk():
    help_only = "from bot.cli import cli\ntry:\n    cli.main(['--help'], prog_name='grievance')\nexcept SystemExit:\n    pass"
    assert _desk_loaded_after(help_only) == []
    # The probe itself works: calling a desk command does load the desk.
    desk_help = "from bot.cli import cli\ntry:\n    cli.main(['cases', '--help'], prog_name='grievance')\nexcept SystemExit:\n    pass"
    assert "desk.cli_cases" in _desk_loaded_after(desk_help)


def _desk_names(tree: ast.AST) -> tuple[list[int], list[int]]:
    """Lines that import desk, and lines with a string naming a desk module."""
    imports, strings = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(DESK_MODULE.match(alias.name) for alias in node.names):
            imports.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and DESK_MODULE.match(node.module or ""):
            imports.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DESK_MODULE.match(node.value) and "." in node.value:
            strings.append(node.lineno)
    return imports, strings


def test_no_source_of_the_intake_server_imports_the_desk_but_the_one_lazy_registration():
    named = {}
    for path in _sources():
        imports, strings = _desk_names(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        assert imports == [], f"{path.relative_to(ROOT)} imports desk/ on lines {imports}"
        if strings:
            named[str(path.relative_to(ROOT))] = strings
    # Only bot/cli.py names desk modules, and only inside its DESK_COMMANDS block.
    assert list(named) == ["bot/cli.py"]
    source = (ROOT / "bot" / "cli.py").read_text(encoding="utf-8").splitlines()
    block_start = next(i for i, line in enumerate(source, 1) if line.startswith("DESK_COMMANDS = {"))
    block_end = next(i for i, line in enumerate(source, 1) if line.startswith("def main("))
    assert all(block_start <= line < block_end for line in named["bot/cli.py"]), named


def test_the_scan_finds_an_import_of_the_desk():
    """The scan above would see the imports it forbids, in every form."""
    for code in ("import desk.operator_store", "from desk import cli_cases", "from desk.pull import pull_cases",
                 "def f():\n    from desk.export import write_export"):
        assert _desk_names(ast.parse(code))[0] == [code.count("\n") + 1]
    assert _desk_names(ast.parse("from .desking import x\nimport desktop"))[0] == []


def test_every_desk_command_is_registered_under_its_own_name():
    import importlib

    from bot.cli import DESK_COMMANDS, cli

    assert {"cases", "reply", "export", "decrypt", "report", "demo-data", "desk"} <= set(DESK_COMMANDS)
    for name, (module, attribute, _help) in DESK_COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command) and command.name == name
        assert name in cli.commands
    cases = importlib.import_module("desk.cli_cases").cases
    assert {"pull", "quarantine", "list", "overdue", "show", "status", "push-status", "replies", "thread"} == set(cases.commands)
