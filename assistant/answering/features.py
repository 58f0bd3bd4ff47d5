"""Features: what the learned models read about each candidate sentence and the answer.

Every feature means the same on any corpus: how much of the question's own vocabulary
(weighted by rarity) a sentence and its context write, how close its meaning is, whether
it holds the asked kind of fact, how retrieval ranked its passage. No topic word is in
here; the models learn how much each signal is worth (``train.py``).
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever
from .evidence import (
    Candidate,
    Context,
    fact_pattern,
    indexed_words,
    indexed_words_before,
    quantities,
    term_credits,
)
from .question import QUESTION_WORDS, Question
from .vocabulary import CJK, vocabulary

#: Columns of the sentence model, in order (the artefact stores their hash).
SENTENCE_FEATURES = (
    "coverage",  # weighted credit of the question's terms in the sentence (synonyms count)
    "coverage_before",  # … of the rest, just before it, where its subject is often named
    "written",  # weighted share of the terms written verbatim in the sentence
    "written_context",  # … in it or its context (earlier in its section, heading, title)
    "dense",  # cosine of question and sentence
    "fact",  # it holds the kind of fact asked (a date, an amount in the asked unit, a list)
    "retrieval",  # its passage's fused retrieval score
    "log_length",
    "refers_back",  # it opens with a pronoun: its subject is named before it
    "pairs",  # share of the question's character pairs written in the sentence
    "pairs_context",  # … in it or its context
    "position",  # where it stands in its document (0 start, 1 end): openings name, later sentences tell
    "kind_what",  # the question asks no specific kind of fact
    # How far below the question's best candidate it is on the strongest signals: a linear
    # model ranks within a question better from these than from absolute values alone.
    "coverage_gap",
    "written_gap",
    "dense_gap",
    "pairs_gap",
)

#: Columns of the answer model, in order.
ANSWER_FEATURES = (
    "best_logit",  # the chosen sentence's log-odds from the sentence model
    "margin",  # its probability minus the runner-up's
    "coverage_context",  # weighted coverage of the terms by the sentence's surroundings and title
    "dense",  # similarity of question and passage (also across languages)
    "fact",
    "written_context",
    "pairs_context",
    "log_terms",  # how much the question says: a one-word question is easy to cover by chance
    "kind_what",
)

# A closed class of Chinese and English pronouns and demonstratives, not a topic list.
_REFERS_BACK = re.compile(r"^(?:[他她它其该此本这那][^，。]{0,3}|(?:it|they|he|she|this)\b)", re.I)


def _pairs(q: Question) -> set[str]:
    """The question's CJK character pairs, question words removed: a signal that does not
    depend on how jieba happened to cut the question or the sentence. An English question's
    are those of its terms, in the sources' language."""
    text = " ".join(q.terms) if q.english else QUESTION_WORDS.sub(" ", normalise_query_text(q.text))
    return {text[i : i + 2] for i in range(len(text) - 1) if CJK.match(text[i]) and CJK.match(text[i + 1])}


def share_written(pairs: set[str], text: str) -> float:
    """Share of ``pairs`` (character pairs) that ``text`` writes."""
    return sum(p in text for p in pairs) / len(pairs) if pairs else 0.0


def _holds_fact(q: Question, text: str, wanted) -> float:
    """1 when the sentence holds the asked kind of fact; for a how-many question an amount the
    question does not already name, as ``fact_missing`` demands (a date is no count)."""
    if wanted is not None and not wanted.search(text):
        return 0.0
    return 0.0 if q.kind == "number" and not quantities(text, q.query) else 1.0


def sentence_features(
    q: Question,
    cands: Sequence[Candidate],
    contexts: Sequence[Context],
    topic: list[str],
    retriever: Retriever,
) -> np.ndarray:
    """One row of ``SENTENCE_FEATURES`` per candidate."""
    vocab = vocabulary(retriever)
    if not cands:
        return np.zeros((0, len(SENTENCE_FEATURES)))
    qv = retriever.encoder.encode([normalise_query_text(q.query)])[0]
    dense = np.clip(retriever.encoder.encode([ctx.sentence for ctx in contexts]) @ qv, 0, 1)
    weights = {t: vocab.weight(t) for t in topic}
    total = sum(weights.values()) or 1.0
    wanted = fact_pattern(q.query, q.kind)
    pairs = _pairs(q)
    rows = []
    for c, ctx, d in zip(cands, contexts, dense):
        own = term_credits(
            list(weights), ctx.sentence, retriever.encoder, vocab, words=indexed_words(c, retriever)
        )
        rest = [t for t in weights if own.get(t, 0) < 1]
        before_words = indexed_words_before(c, max(0, c.start - config.ANSWERING.before_chars), retriever)
        prev = term_credits(rest, ctx.before, retriever.encoder, vocab, words=before_words) if rest else {}
        around = " ".join((ctx.title, ctx.section, ctx.before, ctx.sentence))
        doc_len = len(retriever.documents[c.passage.doc_id].text) or 1
        rows.append(
            [
                sum(w * own.get(t, 0.0) for t, w in weights.items()) / total,
                sum(w * prev.get(t, 0.0) for t, w in weights.items()) / total,
                sum(w for t, w in weights.items() if t in ctx.sentence) / total,
                sum(w for t, w in weights.items() if ctx.writes(t)) / total,
                float(d),
                _holds_fact(q, c.text, wanted),
                c.passage.score,
                math.log1p(len(c.text)),
                float(bool(_REFERS_BACK.match(c.text))),
                share_written(pairs, ctx.sentence),
                share_written(pairs, around),
                c.start / doc_len,
                float(q.kind == "what"),
            ]
        )
    x = np.asarray(rows, dtype=np.float64)
    columns = [SENTENCE_FEATURES.index(n) for n in ("coverage", "written", "dense", "pairs")]
    return np.hstack([x, x[:, columns] - x[:, columns].max(axis=0)])


def answer_features(
    q: Question, probs: np.ndarray, best_row: np.ndarray, coverage: float, dense: float
) -> np.ndarray:
    """One row of ``ANSWER_FEATURES``: ``probs`` the candidates' probabilities, best first."""
    f = dict(zip(SENTENCE_FEATURES, best_row))
    p = float(np.clip(probs[0], 1e-6, 1 - 1e-6))
    second = float(probs[1]) if len(probs) > 1 else 0.0
    return np.array(
        [
            math.log(p / (1 - p)),
            p - second,
            coverage,
            dense,
            f["fact"],
            f["written_context"],
            f["pairs_context"],
            math.log1p(len(q.terms) + len(q.carried)),  # a follow-up's carried words count like its own
            float(q.kind == "what"),
        ]
    )
