"""Relative dates resolved against the document's date (``assistant/answering/dates.py``)."""

from __future__ import annotations

import pytest

from assistant.answering.dates import display, parse_doc_date, resolve


@pytest.mark.parametrize(
    "text, doc_date, derived",
    [
        ("今年4月", "2024-08", "2024年4月"),
        ("6号线于今年4月开通运营", "2024-08-15", "2024年4月"),
        ("今年十二月", "2024", "2024年12月"),
        ("今年", "2024-08", "2024年"),
        ("去年", "2024-08", "2023年"),
        ("去年12月", "2025-01", "2024年12月"),  # across a year boundary
        ("明年", "2024-08", "2025年"),
        ("明年3月", "2024-12-31", "2025年3月"),
        ("上月", "2025-01", "2024年12月"),  # across a year boundary
        ("上个月", "2024-08", "2024年7月"),
        ("本月", "2024-08", "2024年8月"),
        ("目前", "2024-08", "截至2024年8月"),
        ("现在", "2024-08", "截至2024年8月"),
        ("截至目前", "2024-08", "截至2024年8月"),
        ("截至目前", "2024-08-15", "截至2024年8月15日"),
    ],
)
def test_relative_dates_resolve_against_the_document_date(text, doc_date, derived):
    assert resolve(text, doc_date) == derived


@pytest.mark.parametrize(
    "text, doc_date",
    [
        ("今年4月", ""),  # no date, no resolution
        ("今年4月", None),
        ("去年", "sometime"),
        ("上月", "2024"),  # a year-only date has no month to step back from
        ("本月", "2024"),
        ("目前", "2024"),
        ("2024年4月", "2024-08"),  # nothing relative
        ("95.15%", "2024-08"),
        ("这体现在服务上", "2024-08"),  # 体现在 is no 现在
    ],
)
def test_no_resolution_without_a_date_a_month_or_a_relative_phrase(text, doc_date):
    assert resolve(text, doc_date) is None


def test_document_dates_as_the_corpus_writes_them():
    assert parse_doc_date("2024-08-15") == parse_doc_date("2024年8月15日")
    assert parse_doc_date("2024").month is None
    assert parse_doc_date("2024-13") is None
    assert parse_doc_date("") is None


def test_display_puts_the_resolved_date_beside_the_words_as_written():
    assert display("今年4月", "2024年4月") == "今年4月（即2024年4月）"
    assert display("今年4月", "2024年4月", english=True) == "今年4月 (i.e. 2024年4月)"
    assert display("95.15%", None) == "95.15%"
