"""The refusal units (assistant/answering/decision.py), each on literal values: no index."""

from __future__ import annotations

import pytest

from assistant.answering.decision import UNITS, Case, decide
from assistant.answering.evidence import Context
from assistant.answering.question import Question


def _question(**kw) -> Question:
    base = dict(
        text="青岛的大数据局局长是谁？",
        truncated=False,
        english=False,
        query="青岛的大数据局局长是谁？",
        kind="who",
        terms=("青岛", "数据", "局长"),
        carried=(),
        labels={},
        names=("青岛",),
        unwritten=(),
        focus="局长",
        focus_is_predicate=False,
        unit=None,
    )
    return Question(**(base | kw))


def _case(q: Question | None = None, **kw) -> Case:
    base = dict(
        question=q or _question(),
        retrieved=True,
        eligible=True,
        names_unwritten=(),
        places_unknown=(),
        names_unknown=(),
        focus_absent=False,
        unit_ok=True,
        fact_ok=True,
        confidence=0.9,
        threshold=0.4,
        uncovered=(),
    )
    return Case(**(base | kw))


def test_units_have_distinct_names():
    names = [name for name, _ in UNITS]
    assert len(names) == len(set(names)) >= 7


def test_an_answerable_case_fires_no_unit():
    assert decide(_case()) == ((), ())


def test_no_evidence_names_every_term():
    reasons, missing = decide(_case(retrieved=False, eligible=False))
    assert reasons == ("no_evidence",) and missing == ("青岛", "数据", "局长")


def test_a_place_no_source_mentions():
    reasons, missing = decide(_case(places_unknown=("深圳",), eligible=False, names_unwritten=("深圳",)))
    assert reasons[:2] == ("place_not_in_sources", "name_not_in_context") and missing == ("深圳",)


def test_a_name_only_another_article_writes():
    """烟台's article states the same kinds of fact; no sentence about 青岛 does."""
    reasons, missing = decide(_case(eligible=False, names_unwritten=("青岛",)))
    assert reasons == ("name_not_in_context",) and missing == ("青岛",)


def test_a_pinyin_name_no_source_writes():
    q = _question(text="Who is the mayor of Chengdu?", english=True, unwritten=("chengdu",), names=())
    reasons, missing = decide(_case(q))
    assert reasons == ("name_not_in_sources",) and missing == ("chengdu",)


def test_the_thing_asked_about_is_absent():
    reasons, missing = decide(_case(focus_absent=True))
    assert reasons == ("focus_absent",) and missing == ("局长",)


@pytest.mark.parametrize("unit_ok, fired", [(False, True), (True, False)])
def test_the_asked_measure_is_missing(unit_ok, fired):
    q = _question(text="6号线全长多少公里？", kind="number", unit="公里", names=("6号线",))
    reasons, missing = decide(_case(q, unit_ok=unit_ok))
    assert ("unit_missing" in reasons) is fired and ("公里" in missing) is fired


def test_the_asked_kind_of_fact_is_missing():
    reasons, missing = decide(_case(fact_ok=False))
    assert reasons == ("fact_missing",) and missing == ()


def test_low_confidence_names_the_uncovered_words():
    reasons, missing = decide(_case(confidence=0.2, uncovered=("大数据局",)))
    assert reasons == ("low_confidence",) and missing == ("大数据局",)


def test_units_that_need_a_sentence_stay_quiet_without_one():
    reasons, _ = decide(_case(eligible=False, names_unwritten=("青岛",), focus_absent=True, fact_ok=False))
    assert reasons == ("name_not_in_context",)


def test_context_writes_a_name_with_or_without_its_suffix():
    assert Context("局长王明介绍", "", "", "青岛市数字政府").writes("青岛")
    assert Context("局长王明介绍", "", "", "青岛数字政府").writes("青岛市")
    assert not Context("局长王明介绍", "", "", "烟台数字政府").writes("青岛")
    # An earlier sentence names the subject of one that only says 他 or 省内.
    assert Context("他于1990年去世", "", "唐爱陆是一位画家", "").writes("唐爱陆")


def test_a_likely_name_no_source_writes():
    reasons, missing = decide(_case(names_unknown=("唐爱陆",)))
    assert reasons == ("word_not_in_sources",) and missing == ("唐爱陆",)
