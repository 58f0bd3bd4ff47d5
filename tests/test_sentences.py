"""Sentences segmented and tagged at reindex: exact offsets, sections, tags, the stored copy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant import Retriever
from assistant.chunking import chunk_document, section_spans, split_sentences
from assistant.corpus import read_document
from assistant.index import StaleIndexError, build_index, current_version_dir
from assistant.lexical import lexical_tokens, normalise_query_text, segment
from assistant.sentences import analyse, document_sentences, normalise_with_origin, tag, words_within

SEED = Path(__file__).resolve().parent.parent / "corpus" / "000_digital-qingdao.md"

#: Invented facts; characters that normalising widens (… ℃ Ⅱ), Traditional and full-width text.
ARTICLE = """---
title: 海湾测试新区
date: 2025-01
---
# 海湾测试新区

海湾测试新区今年气温达到38℃……市民纷纷避暑。區內設有３個數據中心，總投資12.5億元。

## 交通

新区地铁Ⅱ号线全长30公里，设站20座。局长张晓梅表示：“线路将于2027年开通！”The line serves AI labs.
新区公交APP已服务市民超百万人次；每天发车800班。

### 地铁

地铁票价2元起。
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("sentences")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "bay.md").write_text(ARTICLE, encoding="utf-8")
    (corpus / "seed.md").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    build_index(corpus, root / "index")
    return corpus, root / "index"


@pytest.fixture(scope="module")
def retriever(built):
    return Retriever.load(built[1])


def test_offsets_are_exact_and_cover_every_sentence_of_every_section(retriever):
    for doc_id, doc in retriever.documents.items():
        sentences = retriever.sentences(doc_id)
        expected = [
            span for start, end in section_spans(doc) for span in split_sentences(doc.text[start:end], start)
        ]
        assert [(s.start, s.end) for s in sentences] == expected
        for s in sentences:
            text = doc.text[s.start : s.end]
            assert text == text.strip() and text and "\n" not in text


def test_sentences_never_cross_sections(retriever):
    doc_id = next(d for d, doc in retriever.documents.items() if doc.title == "海湾测试新区")
    doc = retriever.documents[doc_id]
    sentences = retriever.sentences(doc_id)
    bodies = section_spans(doc)
    for s in sentences:
        body = next(b for b in bodies if b[0] == s.section_start)
        assert body[0] <= s.start < s.end <= body[1]
        assert s.section == doc.section_at(s.start)
    by_section = {}
    for s in sentences:
        by_section.setdefault(s.section_start, set()).add(s.section)
    assert all(len(names) == 1 for names in by_section.values())
    assert [s.section for s in sentences if "票价" in doc.text[s.start : s.end]] == ["交通 > 地铁"]
    assert len({s.section_start for s in sentences}) == 3


def test_words_are_the_normalised_jieba_words_with_aligned_tags_and_offsets(retriever):
    doc_id = next(d for d, doc in retriever.documents.items() if doc.title == "海湾测试新区")
    doc = retriever.documents[doc_id]
    for s in retriever.sentences(doc_id):
        text = doc.text[s.start : s.end]
        assert s.words == tuple(w for w in segment(normalise_query_text(text)) if not w.isspace())
        assert len(s.tags) == len(s.words) == len(s.word_starts)
        assert list(s.word_starts) == sorted(s.word_starts)
        widened = len(normalise_query_text(text)) != len(text)
        for word, at in zip(s.words, s.word_starts):
            # the word is where it says in the original text (… and ℃ widen to several characters)
            found = normalise_query_text(text[at : at + len(word)])
            assert word in found if widened else word == found, (word, text[at:])
    joined = {w: t for s in retriever.sentences(doc_id) for w, t in zip(s.words, s.tags)}
    assert "區" not in "".join(joined) and "数据中心" in joined  # Traditional → Simplified
    assert joined["3"] == "m" and joined["ai"] == "eng" and joined[","] == "x"


def test_widened_characters_keep_word_offsets_in_the_original_text():
    text = "气温达到38℃……市民纷纷避暑。"
    norm, origin = normalise_with_origin(text)
    assert norm == normalise_query_text(text) and len(norm) == len(origin) > len(text)
    words, tags, starts = analyse(text)
    assert len(words) == len(tags) == len(starts)
    at = dict(zip(words, starts))
    assert text[at["市民"] : at["市民"] + 2] == "市民"
    assert text[at["避暑"] : at["避暑"] + 2] == "避暑"
    assert text[starts[words.index("38")]] == "3"


def test_tags_come_from_the_dictionary_and_the_hmm_for_unknown_words():
    words = ["青岛", "开通", "地铁", "2027", "5g", "app", ",", "张晓梅"]
    tags = dict(zip(words, tag(words)))
    assert tags["青岛"] == "ns" and tags["开通"] == "v" and tags["地铁"] == "n"
    assert tags["2027"] == "m" and tags["5g"] == "eng" and tags["app"] == "eng" and tags[","] == "x"
    assert tags["张晓梅"] == "nr"  # not in jieba's dictionary: posseg's HMM reads it as a name


def test_stored_sentences_equal_the_analysis_at_build(built, retriever):
    corpus, _ = built
    for path in sorted(corpus.glob("*.md")):
        doc = read_document(path)
        assert retriever.sentences(doc.doc_id) == tuple(document_sentences(doc))


def test_sentences_in_returns_the_sentences_overlapping_a_span(retriever):
    for doc_id, doc in retriever.documents.items():
        every = retriever.sentences(doc_id)
        spans = [(c.start, c.end) for c in retriever.chunks if c.doc_id == doc_id]
        spans += [(0, 1), (5, 40), (len(doc.text) - 3, len(doc.text)), (10, 10)]
        for start, end in spans:
            expected = tuple(s for s in every if s.start < end and s.end > start)
            assert retriever.sentences_in(doc_id, start, end) == expected
    with pytest.raises(KeyError):
        retriever.sentences_in("no-such-doc", 0, 10)


def test_bm25_tokens_from_sentences_equal_segmenting_each_chunk():
    """The build takes a chunk's words from its sentences; chunks start at sentence starts
    and end at sentence or clause ends, so that is what segmenting the chunk would give."""
    doc = read_document(SEED)
    sentences = document_sentences(doc)
    for c in chunk_document(doc):
        from_sentences = lexical_tokens(c.text, words_within(sentences, c.start, c.end))
        assert Counter(from_sentences) == Counter(lexical_tokens(c.text))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "words.txt").unlink(),
        lambda d: (d / "words.txt").write_text("青岛\n", encoding="utf-8"),
        lambda d: (d / "spans.npy").write_bytes((d / "spans.npy").read_bytes()[:-8]),
        lambda d: (d / "meta.json").write_text("{", encoding="utf-8"),
        lambda d: np.save(d / "tags.npy", np.zeros(3, dtype=np.uint8)),
        lambda d: [p.unlink() for p in d.iterdir()] and d.rmdir(),
    ],
    ids=["missing-words", "short-words", "truncated-array", "bad-meta", "wrong-size", "no-folder"],
)
def test_damaged_sentences_ask_for_a_reindex(built, tmp_path, damage):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(built[1], index)
    damage(current_version_dir(index) / "sentences")
    with pytest.raises(StaleIndexError, match="sentences.*assistant reindex"):
        Retriever.load(index)
