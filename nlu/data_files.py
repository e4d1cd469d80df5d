"""Read the YAML data files shipped inside the `nlu` package.

The files are package data (`nlu/data/*.yaml`), read through `importlib.resources`
so they are found wherever the package is installed, and read once per process.
"""

import functools
import importlib.resources
from typing import Any

import yaml


@functools.cache
def load_data_file(name: str) -> Any:
    """Return the parsed content of `nlu/data/<name>`; cached, so callers must not mutate it."""
    resource = importlib.resources.files("nlu").joinpath("data").joinpath(name)
    return yaml.safe_load(resource.read_text(encoding="utf-8"))
