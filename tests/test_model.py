"""The trained answerer's artefact (assistant/answering/model.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from assistant import config
from assistant.answering.features import ANSWER_FEATURES, SENTENCE_FEATURES
from assistant.answering.model import (
    TRAIN_COMMAND,
    AnswerModel,
    Logistic,
    ModelError,
    load_model,
    schema_hash,
)
from assistant.answering.spans import SPAN_FEATURES


def test_the_committed_model_was_trained_for_these_features():
    """A feature added, removed or reordered without retraining fails here (and `make test`)."""
    model = load_model(config.DEFAULT_ANSWER_MODEL)
    assert model.info["schema"] == schema_hash()
    assert model.sentence.coef.shape == (len(SENTENCE_FEATURES),)
    assert model.answer.coef.shape == (len(ANSWER_FEATURES),)
    assert model.span.coef.shape == (len(SPAN_FEATURES),) and 0.0 < model.span_threshold < 1.0
    assert 0.0 < model.threshold < 1.0
    assert config.DEFAULT_ANSWER_MODEL.stat().st_size <= 1_000_000
    # What it learned from is stated, and never a set kept for measuring.
    trained_on = " ".join(model.info["trained_on"])
    assert "DRCD" in trained_on and "questions.jsonl" in trained_on
    assert "cmrc" not in trained_on.lower() and "holdout" not in trained_on


def _tiny(path, schema: str | None = None) -> None:
    n, m, k = len(SENTENCE_FEATURES), len(ANSWER_FEATURES), len(SPAN_FEATURES)
    lo = Logistic(np.zeros(n), np.ones(n), np.ones(n), 0.0)
    la = Logistic(np.zeros(m), np.ones(m), np.ones(m), -1.0)
    ls = Logistic(np.zeros(k), np.ones(k), np.ones(k), 0.0)
    AnswerModel(lo, la, 0.5, ls, 0.7, {"note": "test"}).save(path)
    if schema is not None:
        z = dict(np.load(path))
        z["schema"] = np.array(schema)
        np.savez(path, **z)


def test_a_saved_model_loads_back_and_gives_probabilities(tmp_path):
    _tiny(tmp_path / "m.npz")
    model = load_model(tmp_path / "m.npz")
    p = model.answer.probability(np.zeros(len(ANSWER_FEATURES)))
    assert p == pytest.approx(1 / (1 + np.e))  # σ(-1)
    assert model.info == {"note": "test"} and not list(tmp_path.glob("*.tmp*"))
    assert model.span_threshold == 0.7 and model.span.probability(np.zeros(len(SPAN_FEATURES))) == 0.5


@pytest.mark.parametrize("content", [None, b"", b"not a zip", "stale"])
def test_a_missing_malformed_or_stale_model_names_the_train_command(tmp_path, content):
    path = tmp_path / "m.npz"
    if content == "stale":
        _tiny(path, schema="0123456789abcdef")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError) as err:
        load_model(path)
    assert TRAIN_COMMAND in str(err.value)
    if content == "stale":
        assert "other features" in str(err.value)


def test_cli_ask_exits_2_naming_the_train_command_when_the_model_is_stale(tmp_path, index_copy):
    _tiny(tmp_path / "m.npz", schema="0123456789abcdef")
    env = os.environ | {"ASSISTANT_ANSWER_MODEL": str(tmp_path / "m.npz")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ask",
            "青岛有多少个数据中心？",
            "--index",
            str(index_copy),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert TRAIN_COMMAND in json.loads(proc.stdout)["error"]
