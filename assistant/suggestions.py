"""Questions a refusal can suggest: the staff's, or made from section headings; each one answered.

A refusal offers the corpus questions nearest to what was asked. They are fixed at reindex,
so that a suggestion is never a question the assistant would itself refuse: every candidate
is asked against the version being built, and only answered ones are stored, with their
vectors (``suggestions.json`` and ``suggestions.npy`` in the version folder), for ranking
by similarity at question time.

Candidates: the questions staff listed for a document (front matter or catalogue); for a
document that lists none, one question per section heading, from a generic template. The
check asks the answerer, which sits above the index in the data flow: it is imported where
the build calls it, not at module level.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import config
from .corpus import Document
from .lexical import normalise_query_text

log = logging.getLogger(__name__)

#: How a heading becomes a question: generic, so it reads naturally around any heading
#: ("未来已来", "智慧便捷 城市服务一键通达"), and it asks what the section says. A heading that
#: quotes something itself (激活数字经济“源动力”) goes in without quotes of its own.
HEADING_TEMPLATE = "关于“{heading}”，资料是怎么说的？"
HEADING_TEMPLATE_QUOTING = "关于{heading}，资料是怎么说的？"
#: Numbering before a heading's words ("一、", "2.", "(3)", "第四章") is not part of its subject.
_NUMBERING = re.compile(
    r"^\s*(?:第[\d一二三四五六七八九十百]+[章节部分条]|[(（]?[\d一二三四五六七八九十]+[)）.、．]?)\s*"
)


@dataclass(frozen=True)
class Suggestion:
    """A question the assistant answers, and where it came from."""

    question: str
    doc_id: str
    origin: str  # "staff" (listed for the document) or "heading" (made from a section heading)


def heading_question(heading: str) -> str | None:
    """The template around a heading's words, or None for a heading with no words left."""
    words = _NUMBERING.sub("", heading).strip(" ：:·-—")
    if not re.search(r"\w", words):
        return None
    template = HEADING_TEMPLATE_QUOTING if re.search('[“”"]', words) else HEADING_TEMPLATE
    return template.format(heading=words)


def candidates(doc: Document) -> list[Suggestion]:
    """The staff's questions for ``doc``; if it lists none, one per section heading."""
    if doc.questions:
        return [Suggestion(q, doc.doc_id, "staff") for q in dict.fromkeys(doc.questions)]
    headings = (h.title for h in doc.headings if h.title != doc.title)
    made = (heading_question(h) for h in headings)
    return [Suggestion(q, doc.doc_id, "heading") for q in dict.fromkeys(q for q in made if q)]


def answered(
    data, encoder, lexicon: dict, verdicts: dict[str, bool] | None = None
) -> tuple[list[Suggestion], list[Suggestion], dict[str, bool]]:
    """The candidates of every document of ``data`` (an ``IndexData`` being built) that the
    assistant answers from it, those it refuses, and the verdicts used.

    ``verdicts`` are an earlier build's, keyed by the document's bytes, the question and the
    answer model: a document left unchanged keeps its verdicts, so a one-file reindex asks only
    that file's questions (asking every heading of a 30,000-chunk corpus again took 4 s of a
    5 s reindex). Another document's change could in principle change an answer; the next
    change to the document itself asks again."""
    from .answering import answer
    from .retrieval import Retriever

    retriever = Retriever(data, encoder, lexicon)
    model = _model_digest()
    earlier = verdicts or {}
    used: dict[str, bool] = {}
    kept: list[Suggestion] = []
    refused: list[Suggestion] = []
    seen: set[str] = set()
    for doc in data.documents.values():
        for s in candidates(doc):
            key = normalise_query_text(s.question)
            if key in seen:
                continue
            seen.add(key)
            verdict_key = f"{doc.sha256}\t{model}\t{s.question}"
            ok = earlier.get(verdict_key)
            if ok is None:
                ok = not answer(s.question, retriever=retriever).refused
            used[verdict_key] = ok
            (kept if ok else refused).append(s)
    for s in refused:
        if s.origin == "staff":  # staff should know: the question they listed is never offered
            log.warning("suggested question not answered, not offered: %s (%s)", s.question, s.doc_id)
    return kept, refused, used


def _model_digest() -> str:
    """The answer model's bytes, hashed: a retrained model asks every question again."""
    import hashlib

    try:
        return hashlib.sha256(config.answer_model_path().read_bytes()).hexdigest()[:16]
    except OSError:
        return "none"


def read_verdicts(path: Path) -> dict[str, bool]:
    """An earlier build's verdicts; anything unreadable is no verdicts (every question is asked)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, bool)}


def write_verdicts(path: Path, verdicts: dict[str, bool]) -> None:
    """Written beside and renamed into place, holding only this build's verdicts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(verdicts, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def unit_vectors(texts: Sequence[str], encoder) -> np.ndarray:
    """The model's vectors of ``texts`` in the form questions are searched (normalised), each
    scaled to length 1 (a text the model has no token for stays zero), so a dot is a cosine."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    v = np.asarray(encoder.encode([normalise_query_text(t) for t in texts]), dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def write(version_dir: Path, suggestions: Sequence[Suggestion], vecs: np.ndarray) -> None:
    (version_dir / "suggestions.json").write_text(
        json.dumps([asdict(s) for s in suggestions], ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    with open(version_dir / "suggestions.npy", "wb") as fh:
        np.save(fh, vecs.astype(np.float32), allow_pickle=False)


def read(version_dir: Path) -> tuple[tuple[Suggestion, ...], np.ndarray]:
    """Raises ``OSError`` or ``ValueError`` when the files are missing or damaged."""
    raw = json.loads((version_dir / "suggestions.json").read_text(encoding="utf-8"))
    suggestions = tuple(Suggestion(**s) for s in raw)
    vecs = np.load(version_dir / "suggestions.npy", allow_pickle=False)
    if len(vecs) != len(suggestions):
        raise ValueError(f"{len(suggestions)} suggestions but {len(vecs)} vectors")
    return suggestions, vecs


def nearest(
    suggestions: Sequence[Suggestion], vecs: np.ndarray, query_vector: np.ndarray, exclude: set[str]
) -> list[str]:
    """Up to ``ANSWERING.suggestions`` questions, most similar to ``query_vector`` first,
    leaving out those whose normalised text is in ``exclude``."""
    if not suggestions:
        return []
    q = np.asarray(query_vector, dtype=np.float32).ravel()
    sims = vecs @ (q / (np.linalg.norm(q) or 1.0))
    out: list[str] = []
    for i in np.argsort(-sims, kind="stable"):
        s = suggestions[int(i)].question
        if normalise_query_text(s) not in exclude and s not in out:
            out.append(s)
        if len(out) >= config.ANSWERING.suggestions:
            break
    return out
