"""What the learned models read (assistant/answering/features.py), on the bundled index."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.features import ANSWER_FEATURES, SENTENCE_FEATURES, answer_features
from assistant.answering.pipeline import gather
from assistant.answering.question import analyse


def test_each_eligible_sentence_gets_one_row_of_every_feature(retriever):
    ev = gather(analyse("青岛地铁6号线是什么时候开通的？", (), retriever), retriever)
    assert ev.x.shape == (len(ev.eligible), len(SENTENCE_FEATURES)) and len(ev.eligible) > 3
    assert np.isfinite(ev.x).all()
    col = {name: ev.x[:, i] for i, name in enumerate(SENTENCE_FEATURES)}
    holds = np.array(["今年4月开通的6号线" in c.text for c in ev.eligible])
    assert holds.any()
    # The sentence that writes 6号线 and a date scores at least as well as any other on both.
    assert col["written"][holds].max() >= col["written"][~holds].max()
    assert col["fact"][holds].max() == 1.0
    assert ((col["dense"] >= 0) & (col["dense"] <= 1)).all()


def test_a_question_the_sources_do_not_cover_writes_less_of_itself(retriever):
    covered = gather(analyse("青岛行政村5G覆盖率是多少？", (), retriever), retriever)
    uncovered = gather(analyse("青岛的海底隧道收费多少钱？", (), retriever), retriever)
    i = SENTENCE_FEATURES.index("written")
    assert covered.x[:, i].max() > uncovered.x[:, i].max()


def test_answer_row_reads_the_best_candidate_and_the_margin(retriever):
    q = analyse("青岛有多少个数据中心？", (), retriever)
    row = answer_features(q, np.array([0.8, 0.3]), np.zeros(len(SENTENCE_FEATURES)), 0.5, 0.4)
    f = dict(zip(ANSWER_FEATURES, row))
    assert f["margin"] == pytest.approx(0.5) and f["coverage_context"] == 0.5 and f["dense"] == 0.4
    assert f["best_logit"] == pytest.approx(np.log(0.8 / 0.2))
