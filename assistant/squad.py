"""SQuAD-style reading-comprehension files, used open-domain: corpora and question sets.

A SQuAD file (``data[].title``, ``data[].paragraphs[].context``, ``qas[].id/question/answers``)
holds questions written about a paragraph the annotator could see. The product meets questions
differently: against a whole index, and sometimes about things the index does not hold. This
module makes one from the other, the same way for every caller (``benchmarks/open_domain.py``
measures with it; the answerer's training makes its must-refuse examples with it):

- ``load`` reads and validates a file; a malformed one is a ``ValueError`` naming what is wrong
  and where (``data[3].paragraphs[0].qas[2]: missing "question"``);
- ``split_articles`` holds a seeded share of articles out of the index: their questions must be
  refused, because nothing indexed answers them;
- ``write_corpus`` writes the indexed articles as Markdown files that ``assistant reindex``
  reads, and returns where each paragraph sits in the indexed text;
- ``build_questions`` picks the questions to ask: those of indexed articles (answerable) plus
  must-refuse ones from held-out articles, at a fixed share;
- ``fold_of`` assigns an article to one of N folds by a hash of its id, so that a model trained
  on the other folds has never seen the articles measured.

Everything is deterministic: the same file, seed and share give the same articles, questions
and files on any machine.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "QA",
    "Article",
    "AskedQuestion",
    "CorpusMap",
    "Paragraph",
    "ParagraphSpan",
    "QuestionSet",
    "Split",
    "build_questions",
    "corpus_text",
    "fold_of",
    "load",
    "parse",
    "simplify",
    "split_articles",
    "write_corpus",
]


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class QA:
    """One question with its gold answers, as published (``answer_starts`` index ``context``)."""

    id: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def golds(self) -> tuple[str, ...]:
        """The distinct gold strings as they read in a written corpus file: line breaks turned
        into spaces like ``corpus_text`` does, outer blanks dropped (a quote never starts with one)."""
        return tuple(dict.fromkeys(corpus_text(a).strip() for a in self.answers))


@dataclass(frozen=True)
class Paragraph:
    id: str  #: the file's paragraph id, else "<article id>-<position>"
    context: str
    qas: tuple[QA, ...]


@dataclass(frozen=True)
class Article:
    #: The file's article id, else its title as published. Never converted to Simplified, so an
    #: article keeps its fold (``fold_of``) whichever script it is read in.
    id: str
    title: str
    paragraphs: tuple[Paragraph, ...]

    def qas(self) -> Iterator[tuple[Paragraph, QA]]:
        for paragraph in self.paragraphs:
            for qa in paragraph.qas:
                yield paragraph, qa


# ---------------------------------------------------------------------------- reading


def load(path: str | Path, simplified: bool = False) -> list[Article]:
    """The articles of a SQuAD-style JSON file, optionally converted to Simplified Chinese.

    Raises ``ValueError`` with a one-line message naming the file, the place and the problem.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{path}: unreadable ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    try:
        articles = parse(obj)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return simplify(articles) if simplified else articles


def parse(obj: object) -> list[Article]:
    """Articles from an already decoded SQuAD object; ``ValueError`` names the bad place."""
    data = _get(obj, "data", list, "")
    articles = []
    article_ids: dict[str, str] = {}  # id → where first seen
    paragraph_ids: dict[str, str] = {}
    for i, raw_article in enumerate(data):
        where = f"data[{i}]"
        title = _get(raw_article, "title", str, where)
        article_id = _unique(_id(raw_article, where) or title, f"{where}.id", article_ids)
        raw_paragraphs = _get(raw_article, "paragraphs", list, where)
        if not raw_paragraphs:  # it would be a corpus file without text
            raise ValueError(f"{where}.paragraphs: empty list")
        paragraphs = []
        for j, raw_paragraph in enumerate(raw_paragraphs):
            pwhere = f"{where}.paragraphs[{j}]"
            context = _get(raw_paragraph, "context", str, pwhere)
            if not context.strip():
                raise ValueError(f'{pwhere}: empty "context"')
            paragraph_id = _unique(
                _id(raw_paragraph, pwhere) or f"{article_id}-{j}", f"{pwhere}.id", paragraph_ids
            )
            qas = tuple(
                _qa(raw_qa, f"{pwhere}.qas[{k}]")
                for k, raw_qa in enumerate(_get(raw_paragraph, "qas", list, pwhere))
            )
            paragraphs.append(Paragraph(paragraph_id, context, qas))
        articles.append(Article(article_id, title, tuple(paragraphs)))
    return articles


def _qa(raw: object, where: str) -> QA:
    question = _get(raw, "question", str, where)
    qa_id = _id(raw, where, required=True)
    answers, starts = [], []
    for n, raw_answer in enumerate(_get(raw, "answers", list, where)):
        awhere = f"{where}.answers[{n}]"
        text = _get(raw_answer, "text", str, awhere)
        if not text.strip():  # an empty gold would be "found" in every answer
            raise ValueError(f'{awhere}: empty "text"')
        answers.append(text)
        starts.append(_get(raw_answer, "answer_start", int, awhere))
    return QA(qa_id, question, tuple(answers), tuple(starts))


_EXPECTED = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    (str, int): "a string or an integer",
}


def _type_name(value: object) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    for kind in (dict, list, str, int):
        if isinstance(value, kind):
            return _EXPECTED[kind]
    return "a number" if isinstance(value, float) else type(value).__name__


def _get(obj: object, key: str, kind: type | tuple[type, ...], where: str):
    """``obj[key]``, which must be of ``kind``; ``where`` names ``obj`` in the file ("" at the top).

    A wrong type is a ``ValueError`` too: to the caller, every flaw of the file is one kind of error.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"{where or 'top level'}: expected an object, got {_type_name(obj)}")  # noqa: TRY004
    if key not in obj:
        raise ValueError(f'{where or "top level"}: missing "{key}"')
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        place, expected = f"{where}.{key}" if where else key, _EXPECTED[kind]
        raise ValueError(f"{place}: expected {expected}, got {_type_name(value)}")  # noqa: TRY004
    return value


def _id(obj: dict, where: str, required: bool = False) -> str:
    """An "id" written as a string or an integer; "" when it is optional and absent."""
    if "id" not in obj and not required:
        return ""
    return str(_get(obj, "id", (str, int), where))


def _unique(ident: str, where: str, seen: dict[str, str]) -> str:
    """Article and paragraph ids name files, folds and spans: each must be used once."""
    if ident in seen:
        raise ValueError(f"{where}: id {ident!r} is used twice (first at {seen[ident]})")
    seen[ident] = where
    return ident


# ------------------------------------------------------------------------ converting


def simplify(articles: Sequence[Article]) -> list[Article]:
    """Titles, contexts, questions and answers in Simplified Chinese (OpenCC t2s), ids kept.

    Each answer is converted on its own and its start moved to where the converted answer
    sits in the converted context (nearest the published start), so golds stay spans.
    """
    from .lexical import to_simplified

    def paragraph(p: Paragraph) -> Paragraph:
        context = to_simplified(p.context)
        qas = []
        for qa in p.qas:
            answers = tuple(to_simplified(a) for a in qa.answers)
            starts = tuple(_nearest(context, a, s) for a, s in zip(answers, qa.answer_starts))
            qas.append(
                replace(qa, question=to_simplified(qa.question), answers=answers, answer_starts=starts)
            )
        return replace(p, context=context, qas=tuple(qas))

    return [
        replace(a, title=to_simplified(a.title), paragraphs=tuple(paragraph(p) for p in a.paragraphs))
        for a in articles
    ]


def _nearest(context: str, text: str, start: int) -> int:
    found = [m.start() for m in re.finditer(re.escape(text), context)]
    return min(found, key=lambda at: abs(at - start)) if found else start


# -------------------------------------------------------------------- splitting, folds


@dataclass(frozen=True)
class Split:
    indexed: tuple[Article, ...]
    held_out: tuple[Article, ...]


def split_articles(articles: Sequence[Article], hold_out: float, seed: int) -> Split:
    """Hold ``round(hold_out × articles)`` articles, chosen by ``seed``, out of the index.

    Both parts keep the file's order.
    """
    if not 0.0 <= hold_out < 1.0:
        raise ValueError(f"hold-out share must be in [0, 1), got {hold_out}")
    n_out = round(hold_out * len(articles))
    out = set(random.Random(f"hold-out:{seed}").sample(range(len(articles)), n_out))
    return Split(
        indexed=tuple(a for i, a in enumerate(articles) if i not in out),
        held_out=tuple(a for i, a in enumerate(articles) if i in out),
    )


def fold_of(article: Article, folds: int) -> int:
    """The fold (0 … folds-1) of ``article``, from a hash of its id alone: training and
    measuring agree without sharing any state, for any seed, file order or script."""
    if folds < 1:
        raise ValueError(f"number of folds must be at least 1, got {folds}")
    digest = hashlib.sha256(article.id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % folds


# --------------------------------------------------------------------- corpus files


def corpus_text(text: str) -> str:
    """``text`` as it reads in a written corpus file: every control character (line breaks,
    tabs) and byte-order mark becomes one space, so a paragraph stays one line of the same
    length and published answer offsets still point into it."""
    return "".join(" " if ch == "\ufeff" or unicodedata.category(ch) == "Cc" else ch for ch in text)


@dataclass(frozen=True)
class ParagraphSpan:
    """Where a paragraph sits in the indexed text (``Document.text``, the coordinates of
    passages and citations): ``start + answer_start`` is where its gold answer begins."""

    doc_id: str
    start: int
    end: int
    paragraph: Paragraph


@dataclass(frozen=True)
class CorpusMap:
    """What ``write_corpus`` wrote: one document per article, and each paragraph's place."""

    folder: Path
    articles: dict[str, Article]  #: by doc_id
    doc_ids: dict[str, str]  #: article id → doc_id
    spans: dict[str, ParagraphSpan]  #: by paragraph id

    def paragraph_at(self, doc_id: str, offset: int) -> Paragraph | None:
        """The paragraph holding ``offset`` of document ``doc_id`` (e.g. a citation's start)."""
        for paragraph in self.articles[doc_id].paragraphs:
            span = self.spans[paragraph.id]
            if span.start <= offset < span.end:
                return paragraph
        return None


def write_corpus(articles: Sequence[Article], folder: str | Path) -> CorpusMap:
    """Write one Markdown file per article into ``folder`` (created; it must hold no files).

    Front matter gives the title; the paragraphs follow, separated by blank lines. Offsets
    are read back through the product's own reader, so they are those ``assistant
    reindex`` indexes, whatever it normalises.
    """
    from .corpus import read_document

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ValueError(f"{folder}: not empty; write_corpus writes into an empty folder")
    by_doc: dict[str, Article] = {}
    spans: dict[str, ParagraphSpan] = {}
    for article in articles:
        doc_id = _file_stem(article.id, by_doc)
        path = folder / f"{doc_id}.md"
        title = " ".join(corpus_text(article.title).split()) or article.id
        lines = [corpus_text(p.context).rstrip() for p in article.paragraphs]
        path.write_text(f"---\ntitle: {title}\n---\n\n" + "\n\n".join(lines) + "\n", encoding="utf-8")
        text = read_document(path, doc_id).text
        cursor = 0
        for paragraph, line in zip(article.paragraphs, lines):
            # The reader only deletes line breaks, so every line is still there, in order.
            at = text.find(line, cursor)
            if at == -1:  # pragma: no cover - would mean the reader altered a paragraph
                raise RuntimeError(f"{path}: paragraph {paragraph.id} not found in the indexed text")
            spans[paragraph.id] = ParagraphSpan(doc_id, at, at + len(line), paragraph)
            cursor = at + len(line)
        by_doc[doc_id] = article
    return CorpusMap(folder, by_doc, {a.id: d for d, a in by_doc.items()}, spans)


def _file_stem(article_id: str, taken: dict[str, Article]) -> str:
    """A safe file name from the article id, the same in every split (the index cache keys on it)."""
    stem = re.sub(r"[^\w.-]+", "_", article_id).strip("._")[:80] or "article"
    unique, n = stem, 2
    while unique in taken:
        unique, n = f"{stem}-{n}", n + 1
    return unique


# -------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class AskedQuestion:
    qa: QA
    article: Article
    paragraph: Paragraph
    must_refuse: bool  #: its article is not in the index

    @property
    def golds(self) -> tuple[str, ...]:
        """What a right answer quotes; none for a must-refuse question."""
        return () if self.must_refuse else self.qa.golds


@dataclass(frozen=True)
class QuestionSet:
    questions: tuple[AskedQuestion, ...]
    skipped_empty: int  #: blank questions, never asked
    skipped_no_answer: int  #: questions of indexed articles without any gold answer
    answerable_available: int  #: answerable questions before sampling
    must_refuse_available: int

    @property
    def answerable(self) -> tuple[AskedQuestion, ...]:
        return tuple(q for q in self.questions if not q.must_refuse)

    @property
    def must_refuse(self) -> tuple[AskedQuestion, ...]:
        return tuple(q for q in self.questions if q.must_refuse)


def build_questions(
    indexed: Sequence[Article], held_out: Sequence[Article], seed: int, refuse_share: float = 0.25
) -> QuestionSet:
    """The questions to ask: answerable ones from ``indexed``, must-refuse ones sampled (by
    ``seed``) from ``held_out`` so that they are ``refuse_share`` of all questions asked.

    Every answerable question is asked while the held-out articles have questions enough;
    when they have too few, all of those are asked and the answerable ones are sampled down
    instead, so that the share (which refusal precision depends on) is always the one asked
    for. Blank questions are skipped and counted; so are indexed questions without a gold.
    Pass a fold's articles (``fold_of``) to measure that fold only.
    """
    if not 0.0 <= refuse_share < 1.0:
        raise ValueError(f"must-refuse share must be in [0, 1), got {refuse_share}")
    skipped_empty = skipped_no_answer = 0
    answerable: list[AskedQuestion] = []
    pool: list[AskedQuestion] = []
    for articles, must_refuse in ((indexed, False), (held_out, True)):
        for article in articles:
            for paragraph, qa in article.qas():
                if not qa.question.strip():
                    skipped_empty += 1
                elif not must_refuse and not qa.answers:
                    skipped_no_answer += 1
                else:
                    q = AskedQuestion(qa, article, paragraph, must_refuse)
                    (pool if must_refuse else answerable).append(q)
    rng = random.Random(f"questions:{seed}")
    wanted = round(len(answerable) * refuse_share / (1.0 - refuse_share))
    if wanted <= len(pool):
        asked, refuse = answerable, _sample(pool, wanted, rng)
    else:
        keep = round(len(pool) * (1.0 - refuse_share) / refuse_share)
        asked, refuse = _sample(answerable, keep, rng), pool
    return QuestionSet(
        questions=tuple(asked) + tuple(refuse),
        skipped_empty=skipped_empty,
        skipped_no_answer=skipped_no_answer,
        answerable_available=len(answerable),
        must_refuse_available=len(pool),
    )


def _sample(items: list[AskedQuestion], n: int, rng: random.Random) -> list[AskedQuestion]:
    """``n`` of ``items`` in their original order."""
    return [items[i] for i in sorted(rng.sample(range(len(items)), n))]
