"""Answers that read like answers (``assistant/answering/render.py`` and the page, ``web.py``).

The span model chooses ``Answer.short_answer``; these tests give a span by hand and check
what the resident reads: the fact first, framed by the question's words, the quote as its
proof, relative dates resolved, and on the page bold and highlight drawn from the fields.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant import Answer, Citation, ShortAnswer
from assistant.answering.model import current_model
from assistant.answering.pipeline import assess, gather
from assistant.answering.question import analyse
from assistant.answering.render import frame, quoted, short_answer, with_derived
from assistant.web import render_answer as page


def shown(retriever, question: str, span: str) -> Answer:
    """The real pipeline's quotes for ``question``, rendered with ``span`` of the first quote that
    writes it as the short answer."""
    q = analyse(question, [], retriever)
    chosen = assess(gather(q, retriever), current_model(), retriever).quotes
    plain = quoted(q, chosen, 0.9, retriever.version)
    c = next(c for c in plain.citations if span in c.quote)
    return quoted(q, chosen, 0.9, retriever.version, short=short_answer(c, span, 0.8))


@pytest.mark.parametrize(
    "question, span, first_line",
    [
        ("行政村5G覆盖率是多少？", "95.15%", "行政村5G覆盖率：95.15%"),
        ("真情巴士集团的首席数据官是谁？", "程鹏", "首席数据官：程鹏"),
        ("青岛布局了多少个数据中心？", "50个", "青岛布局数据中心：50个"),
        ("What is the 5G coverage rate of administrative villages?", "95.15%", "5G coverage rate of"),
    ],
)
def test_the_first_line_is_the_short_answer_framed_by_the_questions_words(
    retriever, question, span, first_line
):
    a = shown(retriever, question, span)
    lines = a.text.split("\n\n")
    assert lines[0].startswith(first_line) and lines[0].endswith(span), lines[0]
    assert lines[1].startswith("> ") and span in lines[1]  # then the quote, verbatim
    assert "资料中的相关数字如下" not in a.text and "According to the source" not in a.text
    s = a.short_answer
    doc = retriever.documents[a.citations[s.citation_n - 1].doc_id]
    assert doc.text[s.start : s.end] == s.text == span  # the document's own text at its offsets
    assert a.to_dict()["short_answer"]["text"] == span


def test_without_a_short_answer_the_lead_in_stays(retriever):
    q = analyse("行政村5G覆盖率是多少？", [], retriever)
    chosen = assess(gather(q, retriever), current_model(), retriever).quotes
    a = quoted(q, chosen, 0.9, retriever.version)
    assert a.text.startswith("资料中的相关数字如下：") and a.short_answer is None


@pytest.mark.parametrize(
    "question, framed",
    [
        ("青岛地铁6号线是什么时候开通的？", "青岛地铁6号线开通时间："),
        ("青島有多少個數據中心？", "青島數據中心："),  # the resident's own script
        ("谁是真情巴士的首席数据官？", "首席数据官："),
        ("青岛地铁6号线全长多少公里？", "青岛地铁6号线全长："),  # the unit is in the answer
        ("青岛是第几批数字人民币试点地区？", "青岛数字人民币试点地区："),  # 第几批 asks, whole
        ("数字产业园在哪个区？", "数字产业园地点："),
        ("那6号线呢？", ""),  # no question word: no frame rather than a made-up one
    ],
)
def test_frames_are_the_questions_own_words(retriever, question, framed):
    assert frame(analyse(question, [], retriever)) == framed


def citation(quote: str, date: str = "2024-08", at: int = 200) -> Citation:
    passage = f"前一句。{quote}后一句。"
    start = at + passage.index(quote)
    return Citation(
        1, "d", "标题", "章节", date, "来源", quote, passage, start, start + len(quote), at, at + len(passage)
    )


def test_a_relative_date_is_resolved_beside_the_words_as_written():
    c = citation("6号线于今年4月开通运营。")
    s = short_answer(c, "今年4月", 0.9)
    assert (s.derived, s.start - c.start, s.end - c.start) == ("2024年4月", 4, 8)
    assert with_derived(s, "").derived is None  # no date, no resolution
    assert with_derived(s, "2025-01").derived == "2025年4月"
    a = Answer(
        "6号线是什么时候开通的？", "", (c,), False, 0.9, short_answer=replace(s, frame="6号线开通时间：")
    )
    assert "6号线开通时间：<strong>今年4月</strong>（即2024年4月）" in page(a)


def test_a_span_the_quote_does_not_write_is_an_error():
    with pytest.raises(ValueError, match="not a span"):
        short_answer(citation("行政村5G覆盖率达95.15%。"), "96%", 0.9)


def test_the_page_draws_bold_and_highlight_from_the_fields():
    c = citation("行政村5G覆盖率达95.15%,时延1.88毫秒。")
    s = replace(short_answer(c, "95.15%", 0.9), frame="行政村5G覆盖率：")
    a = Answer(
        "q", "行政村5G覆盖率：95.15%\n\n> x [1]\n\n出处：\n[1] 《标题》", (c,), False, 0.9, short_answer=s
    )
    html = page(a)
    assert '<p class="qa-short">行政村5G覆盖率：<strong>95.15%</strong></p>' in html
    assert '达<mark class="qa-span">95.15%</mark>,时延' in html  # in the quote
    assert '<mark>行政村5G覆盖率达<strong class="qa-span">95.15%</strong>,时延1.88毫秒。</mark>' in html
    assert html.count("95.15%") == 3  # the first line is drawn once, not also read out of the text
    # Offsets that do not hold the span's text draw no highlight (the text is never searched).
    moved = replace(s, start=s.start + 1, end=s.end + 1)
    assert 'class="qa-span"' not in page(replace(a, short_answer=moved))


def test_markup_inside_a_span_is_shown_as_text():
    c = citation("注册名为<b>青岛通</b><script>x()</script>的应用。")
    s = replace(short_answer(c, "<b>青岛通</b><script>x()</script>", 0.9), frame="应用名称：")
    a = Answer("q", "", (c,), False, 0.9, short_answer=s)
    html = page(a)
    assert "<b>" not in html and "<script>" not in html
    assert "<strong>&lt;b&gt;青岛通&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;</strong>" in html
    assert '<mark class="qa-span">&lt;b&gt;青岛通&lt;/b&gt;' in html


def test_short_answer_fields_in_the_json():
    s = ShortAnswer("今年4月", 1, 10, 14, 0.9, "2024年4月", "6号线开通时间：")
    assert s.to_dict() == {
        "text": "今年4月",
        "citation_n": 1,
        "start": 10,
        "end": 14,
        "confidence": 0.9,
        "derived": "2024年4月",
        "frame": "6号线开通时间：",
    }


def test_a_relative_date_in_the_corpus_is_resolved_by_its_articles_date(retriever):
    a = shown(retriever, "青岛数字经济核心产业增加值同比增长超过21%是截至什么时候？", "今年4月")
    c = a.citations[a.short_answer.citation_n - 1]
    assert c.date == "2024-08" and "截至今年4月" in c.quote  # the quote never changes
    assert a.short_answer.derived == "2024年4月"
    assert a.text.split("\n\n")[0].endswith("今年4月（即2024年4月）")


def test_the_page_names_the_older_value_after_the_quotes():
    new = citation("行政村5G覆盖率达到96.8%。", "2025-03")
    old = replace(citation("行政村5G覆盖率达到<i>80.3%</i>。", "2023-05", at=900), n=2, doc_id="e")
    a = Answer("q", "资料中的相关数字如下：\n\n> x [1]\n\n此前…", (new, old), False, 0.9, earlier=2)
    html = page(a)
    first, rest = html.split('<p class="qa-earlier">')
    assert "96.8%" in first and "80.3%" not in first.split('<div class="qa-cites">')[0]
    assert rest.startswith("此前（2023-05）资料为：</p>") and "&lt;i&gt;80.3%&lt;/i&gt;" in rest
    assert "此前…" not in html  # drawn from the fields, not read out of the text
