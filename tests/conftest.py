"""Shared fixtures: real indexes built in temporary folders, never mocks of the pipeline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "corpus"
INDEX = PROJECT / "index"


@pytest.fixture(scope="session")
def index_copy(tmp_path_factory) -> Path:
    """A private copy of the committed index, so no test can touch the real one."""
    target = tmp_path_factory.mktemp("index") / "index"
    shutil.copytree(INDEX, target)
    return target


@pytest.fixture(scope="session")
def retriever(index_copy):
    from assistant import Retriever

    return Retriever.load(index_copy)
