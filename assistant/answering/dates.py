"""Relative dates (今年4月, 去年, 上月, 目前) resolved against the date of the document that writes them.

An article dated 2024-08 that says "今年4月" means April 2024; a resident reading it in 2026
would take it for April 2026. The quote never changes: the resolved date is shown beside it
("今年4月（即2024年4月）"). Without a document date, or without the month a phrase needs
(上月 in a document dated only "2024"), nothing is resolved: a guess would be an invented fact.

Document dates are as ``corpus.py`` gives them: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTH = r"(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月"
#: Year words and how many years they lie from the document's year.
_YEARS = {"前年": -2, "去年": -1, "今年": 0, "本年": 0, "明年": 1}
#: Month words and how many months they lie from the document's month.
_MONTHS = {"上个月": -1, "上月": -1, "本月": 0, "这个月": 0, "当月": 0, "下个月": 1, "下月": 1}
#: 现在 inside 体现在/实现在 is no date.
_AS_OF = ("截至目前", "截止目前", "到目前为止", "目前", "(?<![体表实出展])现在", "至今", "当前")

_RELATIVE = re.compile(
    "|".join(
        [
            rf"(?P<year>{'|'.join(_YEARS)})(?:{_MONTH})?",
            rf"(?P<months>{'|'.join(sorted(_MONTHS, key=len, reverse=True))})",
            rf"(?P<asof>{'|'.join(_AS_OF)})",
        ]
    )
)
_DOC_DATE = re.compile(r"\s*(?P<y>\d{4})(?:[-/.年](?P<m>\d{1,2})(?:[-/.月](?P<d>\d{1,2}))?)?")
_CN = {c: i for i, c in enumerate("〇一二三四五六七八九", 0)}


@dataclass(frozen=True)
class DocDate:
    year: int
    month: int | None
    day: int | None


def parse_doc_date(text: str | None) -> DocDate | None:
    """``2024``, ``2024-08``, ``2024-08-15`` (or 2024年8月) as a ``DocDate``; None for no usable date."""
    m = _DOC_DATE.match(text or "")
    if not m:
        return None
    month = int(m["m"]) if m["m"] else None
    day = int(m["d"]) if m["d"] and month else None
    if month is not None and not 1 <= month <= 12:
        return None
    return DocDate(int(m["y"]), month, day)


def _month_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text.startswith("十"):
        return 10 + (_CN[text[1]] if len(text) > 1 else 0)
    return _CN[text]


def resolve(text: str, doc_date: str | None) -> str | None:
    """The first relative date in ``text`` as an absolute one ("2024年4月", "截至2024年8月"),
    or None: no relative date, no document date, or a phrase finer than the date (上月 in a
    document dated by its year only)."""
    date = parse_doc_date(doc_date)
    m = _RELATIVE.search(text)
    if date is None or m is None:
        return None
    if m["year"]:
        year = date.year + _YEARS[m["year"]]
        return f"{year}年{_month_number(m['month'])}月" if m["month"] else f"{year}年"
    if date.month is None:
        return None
    if m["months"]:
        index = date.year * 12 + date.month - 1 + _MONTHS[m["months"]]
        return f"{index // 12}年{index % 12 + 1}月"
    day = f"{date.day}日" if date.day else ""
    return f"截至{date.year}年{date.month}月{day}"


def display(text: str, derived: str | None, english: bool = False) -> str:
    """``text`` with its resolved date beside it: "今年4月（即2024年4月）"; ``text`` alone without one."""
    if not derived:
        return text
    return f"{text} (i.e. {derived})" if english else f"{text}（即{derived}）"
