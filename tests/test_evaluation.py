"""assistant/evaluation.py: the quality gate shared by `assistant eval` and benchmarks/open_domain.py."""

from __future__ import annotations

from assistant.evaluation import gate_failures


def test_gate_names_each_figure_below_its_minimum():
    figures = {"answer_accuracy": 0.8123, "refusal_recall": 0.95, "accuracy": None}
    assert gate_failures(figures, {"answer_accuracy": 0.85, "refusal_recall": 0.9}) == [
        "answer accuracy 0.812 < 0.85"
    ]
    assert gate_failures(figures, {"answer_accuracy": None, "refusal_recall": 0.95}) == []  # equal passes
    assert gate_failures(figures, {"accuracy": 0.7}) == ["accuracy not measured < 0.7"]
