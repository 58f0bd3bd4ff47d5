"""Training the answerer (assistant/answering/train.py): objective and a real, deterministic run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from assistant.answering.model import load_model
from assistant.answering.train import choose_span_threshold, choose_threshold


def test_the_threshold_maximises_weighted_accuracy():
    # Confidences of five questions; -1: a named unit refused it whatever the confidence.
    conf = np.array([0.9, 0.8, 0.3, 0.2, -1.0])
    right = np.array([True, False, True, False, False])
    must_refuse = np.array([False, True, False, True, True])
    weights = np.ones(5)
    best = choose_threshold(conf, right, must_refuse, weights)
    # Refusing below 0.3 answers 0.9 (right), 0.8 (wrong), 0.3 (right); refuses 0.2 and -1: 4/5.
    assert best["threshold"] == 0.3 and best["accuracy"] == 0.8
    assert best["refusal_precision"] == 1.0 and best["refusal_recall"] == 2 / 3
    # Weighting the wrong answer heavily moves the threshold above it.
    weights[1] = 10
    assert choose_threshold(conf, right, must_refuse, weights)["threshold"] == 0.9


def test_the_span_threshold_shows_the_best_matching_spans_on_enough_answers():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    good = np.array([True, True, False, True, False, False])
    weights = np.ones(6)
    # Showing at least 60 % (4 of 6): 0.6 shows 3 good of 4; 0.5 and 0.4 show more, worse.
    best = choose_span_threshold(p, good, weights)
    assert best == {"span_threshold": 0.6, "shown": 4 / 6, "shown_match": 0.75}


def test_training_is_one_deterministic_command(tmp_path):
    """Two runs on the same data write byte-identical artefacts that load and refuse nothing absurd."""
    from tests.test_benchmarks import _invented_squad_file

    source = _invented_squad_file(tmp_path / "lakes.json")
    outs = []
    for k in (1, 2):
        out = tmp_path / f"m{k}.npz"
        cmd = [sys.executable, "-m", "assistant.answering.train", "--drcd", str(source), "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    model = load_model(tmp_path / "m1.npz")
    assert model.info["trained_on"][0].startswith("lakes.json")
    assert 0.0 <= model.info["out_of_fold"]["accuracy"] <= 1.0
    assert 0.0 <= model.span_threshold <= 1.0 and model.info["span_rows"] > 0


def test_a_missing_training_file_is_a_one_line_error(tmp_path):
    cmd = [sys.executable, "-m", "assistant.answering.train", "--drcd", str(tmp_path / "no.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not found" in proc.stderr
