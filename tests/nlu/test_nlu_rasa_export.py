"""The Rasa project's data is generated from the built-in model's training source."""

from pathlib import Path

import yaml

from nlu.rasa_export import PROJECT, domain_yaml, export, main, nlu_yaml
from nlu.statistical import training_pairs
from nlu.training_data import LABELS
import pytest

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


def test_the_committed_project_data_is_up_to_date():
    # Fails when nlu/data/training changes without `python -m nlu.rasa_export nlu/rasa`.
    assert (PROJECT / "data" / "nlu.yml").read_text(encoding="utf-8") == nlu_yaml(training_pairs())
    assert (PROJECT / "domain.yml").read_text(encoding="utf-8") == domain_yaml()


def test_every_training_message_is_an_example_of_its_intent_once():
    data = yaml.safe_load(nlu_yaml(training_pairs()))
    assert data["version"] == "3.1"
    blocks = {block["intent"]: block["examples"].splitlines() for block in data["nlu"]}
    assert list(blocks) == list(LABELS)
    lines = [line for examples in blocks.values() for line in examples]
    assert all(line.startswith("- ") for line in lines)
    assert len(lines) == len(set(lines))  # Rasa refuses one example under two intents
    assert "- they didnt pay our salary for 2 months" in blocks["wages"]
    assert "- hello" in blocks["none"]


def test_export_writes_a_complete_project(tmp_path: Path, capsys):
    assert main([str(tmp_path / "project")]) == 0
    assert {p.name for p in (tmp_path / "project").rglob("*") if p.is_file()} == {"nlu.yml", "domain.yml", "config.yml"}
    config = yaml.safe_load((tmp_path / "project" / "config.yml").read_text())
    assert [component["name"] for component in config["pipeline"]][0] == "WhitespaceTokenizer"
    assert "wrote" in capsys.readouterr().out


def test_export_into_the_project_itself_keeps_its_config(tmp_path: Path, monkeypatch):
    project = tmp_path / "rasa"
    project.mkdir()
    (project / "config.yml").write_text("# hand-written\n")
    monkeypatch.setattr("nlu.rasa_export.PROJECT", project)
    written = export(project)
    assert {path.name for path in written} == {"nlu.yml", "domain.yml"}
    assert (project / "config.yml").read_text() == "# hand-written\n"


def test_usage_without_an_outdir(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err
