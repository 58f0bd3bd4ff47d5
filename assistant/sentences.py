"""Every document's sentences, segmented and tagged once, at reindex.

Answering compares a question with the sentences of the passages retrieved for it. Splitting
and segmenting those sentences at every question cost ~83 % of ``answer()``; here it is done
once per document by ``assistant reindex``, stored in the index version (``sentences/``) and
in the per-document build cache, so a question segments only itself.

Sentences are ``chunking.split_sentences`` spans of each section body (``chunking.section_spans``),
so a sentence never crosses a heading. Words are jieba's (plain mode, the same segmenter a
question goes through) of the sentence's ``lexical.normalise_query_text`` form; tags come from
``tag`` below, which a question can use too, so that both sides are tagged alike.

Part-of-speech tags, by measurement (``jieba.posseg`` taken as the reference; seed article and
the 3,334 sentences of CMRC 2018 trial, CPU seconds on this 2-core machine):

=============================================  ==========  ==================  =============
tagger                                         chars/s     words as jieba.cut  tag agreement
=============================================  ==========  ==================  =============
``jieba.posseg.cut``                           ~25,000     96.4 % (seed 98.3)  reference
jieba.cut + dictionary tag, 'x' if unknown     ~165,000    100 %               94.9 % (97.1)
jieba.cut + dictionary tag + word HMM (this)   ~95,000     100 %               97.9 % (98.8)
=============================================  ==========  ==================  =============

posseg is 4-7x slower and, worse, cuts differently from ``jieba.cut`` on 2-4 % of words (its
own HMM joins unknown characters), so its words would not match a question's. A word in
jieba's dictionary takes the dictionary's tag (what posseg gives it as well). A run of Chinese
characters jieba found outside its dictionary (mostly names: 徐楠楠, 齿河盗龙) takes the tag that
posseg's own HMM gives it when the HMM must read it as one word: the best of its tags over
the states B M… E (S for one character). That agrees with posseg on 95 % of such words where
the unconstrained Viterbi agrees on 96 % at twice the cost, and 'x' on 33 %: without it names
would lose 'nr'/'ns'. Other words are 'm' (numbers), 'eng' (Latin letters), else 'x'.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import section_spans, split_sentences
from .corpus import Document
from .lexical import TermTable, normalise_query_text, segment


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    #: Offsets into ``Document.text``: ``doc.text[start:end]`` is the sentence.
    start: int
    end: int
    #: Heading path, as ``Chunk.section``.
    section: str
    #: Where the body of the sentence's section starts: the sentences of a section share it.
    section_start: int
    #: jieba words of the normalised sentence (Simplified, half-width, lower case), no whitespace.
    words: tuple[str, ...]
    #: Part-of-speech tag of each word (jieba's tag set: n, nr, ns, nt, nz, v, m, t, eng, x, …).
    tags: tuple[str, ...]
    #: Where each word starts in the original text, relative to ``start``. Words made from a
    #: character that normalising widens (… → ..., ℃ → °c) all start at that character.
    word_starts: tuple[int, ...]


# --------------------------------------------------------------------------- tagging


@functools.cache
def _tag_model():
    """jieba's dictionary tags and posseg's HMM tables (loaded on first use, ~0.5 s)."""
    import jieba.posseg

    segment("")  # jieba's own dictionary, silenced
    from jieba.posseg import char_state_tab_P, emit_P, start_P, trans_P

    jieba.posseg.dt.initialize()
    return jieba.posseg.dt.word_tag_tab, char_state_tab_P, start_P, trans_P, emit_P


_HAN = re.compile("[\u4e00-\u9fd5]+")  # the characters posseg's HMM knows
_NUMBER = re.compile(r"[0-9.,%]*[0-9][0-9.,%]*")
_LATIN = re.compile(r"[0-9a-z._+#&-]*[a-z][0-9a-z._+#&-]*")
_NEVER = -3.14e100  # posseg's own "impossible" log-probability


def tag(words: Sequence[str]) -> tuple[str, ...]:
    """A part-of-speech tag for each of ``words`` (normalised jieba words), as explained above."""
    tags = tuple(map(_tag_model()[0].get, words))
    if None not in tags:
        return tags
    return tuple(t or _unknown_tag(w) for t, w in zip(tags, words))


@functools.lru_cache(maxsize=65536)
def _unknown_tag(word: str) -> str:
    if _HAN.fullmatch(word):
        return _hmm_word_tag(word)
    if _NUMBER.fullmatch(word):
        return "m"
    if _LATIN.fullmatch(word):
        return "eng"
    return "x"


def _hmm_word_tag(word: str) -> str:
    """The tag of posseg's HMM path that reads ``word`` as one word of one tag."""
    _, states, start_p, trans_p, emit_p = _tag_model()
    n = len(word)
    places = ["S"] if n == 1 else ["B", *["M"] * (n - 2), "E"]
    # Only tags every character allows at its place (B, M, E or S) can carry the whole word.
    candidates = None
    for place, ch in zip(places, word):
        allowed = {t for p, t in states.get(ch, ()) if p == place}
        candidates = allowed if candidates is None else candidates & allowed
    best, best_tag = _NEVER, "x"
    for t in sorted(candidates or ()):
        score = start_p.get((places[0], t), _NEVER) + emit_p[(places[0], t)].get(word[0], _NEVER)
        for i in range(1, n):
            prev, here = (places[i - 1], t), (places[i], t)
            score += trans_p[prev].get(here, _NEVER) + emit_p[here].get(word[i], _NEVER)
        if score > best:
            best, best_tag = score, t
    return best_tag


# ------------------------------------------------------------------------- analysing


def normalise_with_origin(text: str) -> tuple[str, list[int] | None]:
    """``text`` in the matching form and, for each of its characters, the offset in
    ``text`` of the character it came from (None: the same offset, the usual case).

    ``normalise_query_text`` is not one character for one: NFKC widens … to ... and ℃ to
    °c (OpenCC's t2s never changes a length: a test pins it). Such a text is normalised
    character by character, which differs from normalising it whole only where NFKC would
    compose a character with a combining mark.
    """
    norm = normalise_query_text(text)
    if len(norm) == len(text) and unicodedata.is_normalized("NFKC", text):
        return norm, None
    pieces = [unicodedata.normalize("NFKC", ch).lower() for ch in text]
    origin = [i for i, piece in enumerate(pieces) for _ in piece]
    norm = normalise_query_text("".join(pieces))
    if len(norm) != len(origin):  # pragma: no cover - an OpenCC whose t2s changes lengths
        raise RuntimeError("normalising changed a text's length: word offsets would be wrong")
    return norm, origin


def analyse(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """Words, tags and word offsets (into ``text``) of one sentence."""
    norm, origin = normalise_with_origin(text)
    pieces = segment(norm, remember=False)
    at = list(itertools.accumulate(map(len, pieces), initial=0))
    if origin is not None:
        at = [origin[i] for i in at[:-1]]
    kept = [i for i, w in enumerate(pieces) if not w.isspace()]
    if len(kept) == len(pieces):
        words = tuple(pieces)
        return words, tag(words), tuple(at[: len(pieces)])
    words = tuple(pieces[i] for i in kept)
    return words, tag(words), tuple(at[i] for i in kept)


def document_sentences(doc: Document) -> list[Sentence]:
    """The sentences of ``doc`` in order, section by section."""
    out = []
    for body_start, body_end in section_spans(doc):
        section = doc.section_at(body_start)
        for start, end in split_sentences(doc.text[body_start:body_end], body_start):
            words, tags, starts = analyse(doc.text[start:end])
            out.append(Sentence(doc.doc_id, start, end, section, body_start, words, tags, starts))
    return out


def words_within(sentences: Sequence[Sentence], start: int, end: int) -> list[str]:
    """The words of ``sentences`` (one document's, in order) that start inside ``[start, end)``:
    a chunk's words, for BM25, without segmenting the chunk again. Chunks are cut at
    sentence and clause ends, so no word straddles a chunk's edge (except inside one
    sentence longer than a chunk with no clause mark, which the splitter cuts anywhere)."""
    first = bisect.bisect_right([s.end for s in sentences], start) if sentences else 0
    out = []
    for s in sentences[first:]:
        if s.start >= end:
            break
        out.extend(w for w, o in zip(s.words, s.word_starts) if start <= s.start + o < end)
    return out


# ---------------------------------------------------------------------- as arrays


@dataclass
class DocSentences:
    """One document's sentences as arrays, the form the build cache and the index store:
    words and tags are numbers of a ``TermTable`` (the one BM25's term counts use)."""

    spans: np.ndarray  # int32 (n, 3): start, end, section start
    n_words: np.ndarray  # int32 (n,): words per sentence
    words: np.ndarray  # uint32: the words, sentence after sentence
    word_starts: np.ndarray  # int32: each word's offset relative to its sentence's start
    tags: np.ndarray  # uint32: each word's tag

    @classmethod
    def of(cls, sentences: Sequence[Sentence], table: TermTable) -> DocSentences:
        """The arrays of one document's ``sentences`` (``document_sentences``)."""
        return cls(
            spans=np.array([(s.start, s.end, s.section_start) for s in sentences], dtype=np.int32).reshape(
                -1, 3
            ),
            n_words=np.array([len(s.words) for s in sentences], dtype=np.int32),
            words=table.ids_of([w for s in sentences for w in s.words]),
            word_starts=np.array([o for s in sentences for o in s.word_starts], dtype=np.int32),
            tags=table.ids_of([t for s in sentences for t in s.tags]),
        )

    #: (field, dtype) in the order the cache file stores them.
    ARRAYS = (
        ("spans", np.int32),
        ("n_words", np.int32),
        ("words", np.uint32),
        ("word_starts", np.int32),
        ("tags", np.uint32),
    )

    def sizes(self) -> tuple[int, int]:
        return len(self.n_words), len(self.words)

    @classmethod
    def from_buffer(cls, data: bytes, offset: int, n: int, n_words: int) -> tuple[DocSentences, int]:
        """The arrays written by ``to_bytes`` at ``offset`` of ``data``, and the offset after them."""
        counts = {"spans": 3 * n, "n_words": n, "words": n_words, "word_starts": n_words, "tags": n_words}
        arrays = {}
        for name, dtype in cls.ARRAYS:
            arrays[name] = np.frombuffer(data, dtype=dtype, count=counts[name], offset=offset)
            offset += arrays[name].nbytes
        arrays["spans"] = arrays["spans"].reshape(n, 3)
        entry = cls(**arrays)
        if int(entry.n_words.sum()) != n_words:
            raise ValueError("sentence word counts do not add up")
        return entry, offset

    def to_bytes(self) -> bytes:
        return b"".join(np.ascontiguousarray(getattr(self, n), dtype=d).tobytes() for n, d in self.ARRAYS)

    def max_term(self) -> int:
        return int(max(self.words.max(initial=0), self.tags.max(initial=0)))


# ------------------------------------------------------------------- index store


class SentenceStoreError(ValueError):
    """The stored sentences are missing or damaged; ``load_index`` turns it into advice to reindex."""


#: The files of ``sentences/`` in an index version, besides ``meta.json`` and ``words.txt``.
_STORE_ARRAYS = ("doc_ptr", "spans", "word_ptr", "words", "word_starts", "tags")


def write_store(path: Path, doc_ids: Sequence[str], parts: Sequence[DocSentences], table: TermTable) -> None:
    """Write the sentences of a version's documents (``parts`` in ``doc_ids`` order) to the
    folder ``path``: words renumbered to the words these documents use (in order of first
    appearance, so the same corpus always gives the same files), tags to a short list.
    Document by document, so a build at 30,000 chunks holds no corpus-wide temporaries."""
    n_words = sum(len(p.words) for p in parts)
    longest = max((int(p.word_starts.max(initial=0)) for p in parts), default=0)
    words = np.empty(n_words, dtype=np.uint32)
    tags = np.empty(n_words, dtype=np.uint8)
    starts = np.empty(n_words, dtype=np.uint16 if longest < 2**16 else np.int32)
    word_number = np.full(len(table.strings), -1, dtype=np.int64)
    tag_number = np.full(len(table.strings), -1, dtype=np.int64)
    word_vocab: list[int] = []
    tag_vocab: list[int] = []
    at = 0
    for p in parts:
        end = at + len(p.words)
        words[at:end] = _number(p.words, word_number, word_vocab)
        tags[at:end] = _number(p.tags, tag_number, tag_vocab, limit=256)
        starts[at:end] = p.word_starts
        at = end
    n_sentences = np.array([len(p.n_words) for p in parts], dtype=np.int64)
    arrays = {
        "doc_ptr": np.concatenate([[0], np.cumsum(n_sentences)]).astype(np.int64),
        "spans": np.concatenate([p.spans for p in parts]).astype(np.int32).reshape(-1, 3),
        "word_ptr": np.concatenate([[0], np.cumsum(np.concatenate([p.n_words for p in parts]))]).astype(
            np.int64
        ),
        "words": words if len(word_vocab) >= 2**16 else words.astype(np.uint16),
        "word_starts": starts,
        "tags": tags,
    }
    path.mkdir()
    for name in _STORE_ARRAYS:
        np.save(path / f"{name}.npy", arrays[name], allow_pickle=False)
    strings = [table.strings[i] for i in word_vocab]
    (path / "words.txt").write_text("".join(f"{w}\n" for w in strings), encoding="utf-8")
    meta = {"documents": list(doc_ids), "tags": [table.strings[i] for i in tag_vocab], "words": len(strings)}
    (path / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _number(ids: np.ndarray, number: np.ndarray, vocab: list[int], limit: int | None = None) -> np.ndarray:
    """``ids`` (term-table numbers) as store numbers, which count up in order of first
    appearance; ``number`` and ``vocab`` carry the numbering from document to document."""
    unique, first = np.unique(ids, return_index=True)
    unseen = number[unique] < 0
    if unseen.any():
        new = unique[unseen][np.argsort(first[unseen], kind="stable")]
        number[new] = np.arange(len(vocab), len(vocab) + len(new))
        vocab.extend(new.tolist())
        if limit is not None and len(vocab) > limit:  # pragma: no cover - jieba has ~60 tags
            raise ValueError(f"{len(vocab)} part-of-speech tags do not fit the sentence store")
    return number[ids]


#: Sentences a loaded store keeps built (~1 KB each): several questions' candidates and their neighbours.
SENTENCES_REMEMBERED = 8192


class SentenceStore:
    """The stored sentences of an index version, read back as ``Sentence`` values on demand:
    loading keeps only flat arrays (at 30,000 chunks ~3.5 million words take ~25 MB)."""

    def __init__(self, path: Path, documents: dict[str, Document]):
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            a = {n: np.load(path / f"{n}.npy", allow_pickle=False) for n in _STORE_ARRAYS}
            words = (path / "words.txt").read_text(encoding="utf-8").split("\n")
            doc_ids, tags = list(meta["documents"]), list(meta["tags"])
            complete = not words.pop() and len(words) == meta["words"]
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise SentenceStoreError(f"sentences in {path} are missing or unreadable ({exc})") from exc
        n_sentences, n_words = len(a["spans"]), len(a["words"])
        if not (
            complete
            and doc_ids == list(documents)
            and a["spans"].ndim == 2
            and a["spans"].shape[1] == 3
            and len(a["doc_ptr"]) == len(doc_ids) + 1
            and a["doc_ptr"][0] == 0
            and a["doc_ptr"][-1] == n_sentences
            and len(a["word_ptr"]) == n_sentences + 1
            and a["word_ptr"][0] == 0
            and a["word_ptr"][-1] == n_words
            and len(a["word_starts"]) == n_words == len(a["tags"])
            and int(a["words"].max(initial=0)) < max(len(words), 1)
            and int(a["tags"].max(initial=0)) < max(len(tags), 1)
        ):
            raise SentenceStoreError(f"sentences in {path} are damaged or do not match the index's documents")
        self._documents = documents
        self._doc_row = {d: i for i, d in enumerate(doc_ids)}
        self._word_strings, self._tag_strings = words, tags
        self._doc_ptr = a["doc_ptr"].tolist()
        self._starts = a["spans"][:, 0].copy()
        self._ends = a["spans"][:, 1].copy()
        self._section_starts = a["spans"][:, 2].copy()
        self._word_ptr, self._words, self._word_starts, self._tags = (
            a["word_ptr"],
            a["words"],
            a["word_starts"],
            a["tags"],
        )
        self._sections: dict[tuple[str, int], str] = {}
        # Answering reads the same few sentences for every candidate of a question (the
        # sentence's own words, those just before it): each is built once, then remembered.
        self._sentence = functools.lru_cache(maxsize=SENTENCES_REMEMBERED)(self._read_sentence)

    def sentences(self, doc_id: str) -> tuple[Sentence, ...]:
        """All sentences of ``doc_id``, in document order."""
        lo, hi = self._rows(doc_id)
        return tuple(self._sentence(doc_id, i) for i in range(lo, hi))

    def sentences_in(self, doc_id: str, start: int, end: int) -> tuple[Sentence, ...]:
        """The sentences of ``doc_id`` that overlap ``[start, end)``, in order."""
        lo, hi = self._rows(doc_id)
        # Sentences do not overlap, so their ends ascend as their starts do.
        first = lo + int(np.searchsorted(self._ends[lo:hi], start, side="right"))
        last = lo + int(np.searchsorted(self._starts[lo:hi], end, side="left"))
        return tuple(self._sentence(doc_id, i) for i in range(first, max(first, last)))

    def _rows(self, doc_id: str) -> tuple[int, int]:
        row = self._doc_row.get(doc_id)
        if row is None:
            raise KeyError(f"no document {doc_id!r} in this index")
        return self._doc_ptr[row], self._doc_ptr[row + 1]

    def _read_sentence(self, doc_id: str, i: int) -> Sentence:
        a, b = int(self._word_ptr[i]), int(self._word_ptr[i + 1])
        section_start = int(self._section_starts[i])
        return Sentence(
            doc_id=doc_id,
            start=int(self._starts[i]),
            end=int(self._ends[i]),
            section=self._section(doc_id, section_start),
            section_start=section_start,
            words=tuple(map(self._word_strings.__getitem__, self._words[a:b].tolist())),
            tags=tuple(map(self._tag_strings.__getitem__, self._tags[a:b].tolist())),
            word_starts=tuple(self._word_starts[a:b].tolist()),
        )

    def _section(self, doc_id: str, section_start: int) -> str:
        key = (doc_id, section_start)
        section = self._sections.get(key)
        if section is None:
            section = self._sections[key] = self._documents[doc_id].section_at(section_start)
        return section
