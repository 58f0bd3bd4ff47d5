"""Short answers (assistant/answering/spans.py): candidate spans, features, the choice, the measure."""

from __future__ import annotations

import pytest

from assistant import answer
from assistant.answering.model import current_model
from assistant.answering.question import analyse
from assistant.answering.spans import SPAN_FEATURES, Words, candidate_spans, exact, f1, span_features
from assistant.answering.types import ShortAnswer
from assistant.evaluation import read_questions
from assistant.sentences import analyse as analyse_sentence
from tests.conftest import PROJECT


def _words(text: str, start: int = 0) -> Words:
    return Words(start, text, *analyse_sentence(text))


def _spans(text: str) -> dict[str, str]:
    """Each candidate's text → its type."""
    return {s.text: s.type for s in candidate_spans(_words(text))}


@pytest.mark.parametrize(
    "sentence, span, kind",
    [
        ("地铁6号线全长约30.5公里，共设车站18座。", "30.5公里", "number"),
        ("地铁6号线全长约30.5公里，共设车站18座。", "18座", "number"),
        ("行政村5G覆盖率达到95.15%。", "95.15%", "percent"),
        ("该线路于2024年4月开通，今年底前完工。", "2024年4月", "date"),
        ("营业时间为9:00-17:00。", "9:00-17:00", "time"),
        ("8月7日至8日，记者再度见证。", "8月7日至8日", "date"),
        ("8月7日至8日，记者再度见证。", "8月7日", "date"),
        ("他在北京大学读书，后来去了上海。", "上海", "place"),
        ("青岛市大数据发展管理局和海尔集团签署协议。", "海尔集团", "organisation"),
        ("国务院办公厅发布了《数字中国建设整体布局规划》。", "《数字中国建设整体布局规划》", "title"),
        ("国务院办公厅发布了《数字中国建设整体布局规划》。", "数字中国建设整体布局规划", "title"),
        ("这一活动被称为“城市大脑”。", "城市大脑", "quoted"),
        ("重点领域包括交通、医疗和教育等。", "交通、医疗和教育等", "list"),
    ],
)
def test_each_type_of_span_is_a_candidate(sentence, span, kind):
    assert _spans(sentence).get(span) == kind


def test_a_person_tagged_by_the_stored_tags_is_a_person_span():
    spans = _spans("会上，市长李明介绍了规划。")
    assert any(kind == "person" and "李明" in text for text, kind in spans.items())


def test_a_number_inside_a_name_or_a_date_is_no_date_or_amount_of_its_own():
    spans = _spans("6号线于2024年4月开通。")
    assert "6号" not in spans and "2024" not in spans and spans["2024年4月"] == "date"


def test_spans_are_verbatim_at_their_document_offsets():
    text = "前言。行政村5G覆盖率达到95.15%，位居全省第一。"
    sentence_start = text.index("行")
    w = _words(text[sentence_start:], sentence_start)
    spans = candidate_spans(w)
    assert spans and all(text[s.start : s.end] == s.text for s in spans)


def test_a_span_the_question_already_writes_is_not_the_answer(retriever):
    q = analyse("6号线全长多少公里？", (), retriever)
    w = _words("6号线全长约30.5公里。")
    spans = candidate_spans(w)
    x = span_features(q, w, spans)
    column = SPAN_FEATURES.index("in_question")
    written = {s.text for s, row in zip(spans, x) if row[column] == 1.0}
    assert "6号线" in written and "30.5公里" not in written
    best = spans[int(current_model().span.probability(x).argmax())]
    assert best.text == "30.5公里"


def test_short_answers_of_real_answers_equal_the_document_text_at_their_offsets(retriever):
    items = [i for i in read_questions(PROJECT / "eval" / "questions.jsonl") if i.answers and not i.history]
    shown = 0
    for item in items[:40]:
        result = answer(item.question, retriever=retriever)
        sa = result.short_answer
        if sa is None:
            continue
        shown += 1
        cited = next(c for c in result.citations if c.n == sa.citation_n)
        doc = retriever.documents[cited.doc_id]
        assert doc.text[sa.start : sa.end] == sa.text
        assert cited.start <= sa.start < sa.end <= cited.end and 0.0 < sa.confidence <= 1.0
        assert result.to_dict()["short_answer"]["text"] == sa.text
    assert shown >= 5  # the field is really filled, not always None


@pytest.mark.parametrize("question", ["为什么要建设数字政府？", "青岛如何推进智慧城市建设？"])
def test_an_explanation_gets_the_quote_alone(retriever, question):
    result = answer(question, retriever=retriever)
    assert result.short_answer is None


def test_markup_inside_a_span_stays_plain_text():
    text = "发布了《<b>数字</b>青岛规划》。"
    spans = {s.text: s for s in candidate_spans(_words(text))}
    inner = spans["<b>数字</b>青岛规划"]
    shown = ShortAnswer(inner.text, 1, inner.start, inner.end, 0.9).to_dict()
    assert shown["text"] == "<b>数字</b>青岛规划" == text[shown["start"] : shown["end"]]


def test_cmrc_f1_and_em_ignore_punctuation_and_take_the_best_gold():
    assert f1("95.15%", ["95.15%"]) == 1.0 and exact("“城市大脑”", ["城市大脑"]) == 1.0
    # LCS "30.5公里" (6 chars) of prediction 8 and gold 6: P 0.75, R 1.
    assert f1("全长30.5公里", ["30.5公里", "三十公里"]) == pytest.approx(2 * 0.75 / 1.75)
    assert f1("", ["x"]) == 0.0 and exact("程鹏", ["程 鹏"]) == 1.0


def test_the_given_sentence_benchmark_finds_amounts_and_years(tmp_path):
    """benchmarks/spans.py on invented lakes: areas and years, each given its sentence."""
    import json
    import subprocess
    import sys

    from tests.test_benchmarks import _invented_squad_file

    source = _invented_squad_file(tmp_path / "lakes.json")
    cmd = [sys.executable, str(PROJECT / "benchmarks" / "spans.py"), str(source), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=PROJECT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout)
    assert figures["questions"] == 24  # blank questions skipped
    assert figures["f1"] >= 0.9 and 0.0 <= figures["shown"] <= 1.0


def _row(question: str, sentence: str, span: str, retriever) -> dict[str, float]:
    w = _words(sentence)
    spans = candidate_spans(w)
    x = span_features(analyse(question, (), retriever), w, spans)
    k = [s.text for s in spans].index(span)
    return dict(zip(SPAN_FEATURES, x[k]))


def test_a_span_standing_where_the_question_word_stands_is_aligned_with_the_question(retriever):
    question, sentence = "青岛培育了多少家实验室？", "去年，青岛培育了27家实验室。"
    there = _row(question, sentence, "27家", retriever)
    elsewhere = _row(question, sentence, "去年", retriever)
    assert there["terms_left"] == 1.0 and there["terms_right"] == 1.0 and there["terms_crossed"] == 0.0
    assert there["left_window"] > 0 and there["right_window"] > 0
    assert elsewhere["terms_left"] == 0.0 and elsewhere["terms_crossed"] > 0


def test_a_span_of_the_asked_form_writes_the_question_words_frame(retriever):
    question = "青岛的智慧城市建设水平排全国第几位？"
    sentence = "智慧城市建设水平位居全国第九位，启动了2.0工程。"
    assert _row(question, sentence, "第九位", retriever)["frame"] == 1.0
    assert _row(question, sentence, "2.0工程", retriever)["frame"] == 0.0


def test_a_date_is_a_date_before_the_word_after_it_and_a_numbered_thing_keeps_its_classifier():
    spans = _spans("入选《2022年中国数字城市竞争力研究报告》，在第七届数字中国建设峰会上推广，今年底前完工。")
    assert spans["2022年"] == "date" and spans["今年底"] == "date"
    assert spans["第七届"] == "number" and "第七届数字" not in spans
