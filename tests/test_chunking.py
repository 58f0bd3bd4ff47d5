import re
from pathlib import Path

import pytest

from assistant.chunking import chunk_document, split_sentences
from assistant.corpus import read_document

SEED = Path(__file__).resolve().parent.parent / "corpus" / "000_digital-qingdao.md"


@pytest.fixture(scope="module")
def doc():
    return read_document(SEED)


@pytest.mark.parametrize("size", [120, 300, 400])
def test_offsets_point_at_chunk_text(doc, size):
    chunks = chunk_document(doc, chunk_size=size, chunk_overlap=0)
    assert chunks
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= size


def test_no_chunk_cuts_a_sentence(doc):
    sentences = split_sentences(doc.text)
    starts = {s for s, _ in sentences}
    ends = {e for _, e in sentences}
    for c in chunk_document(doc):
        assert c.start in starts, doc.text[c.start : c.start + 20]
        assert c.end in ends, doc.text[c.end - 20 : c.end]


def test_chunks_carry_section_and_stay_inside_it(doc):
    chunks = chunk_document(doc)
    assert {c.section for c in chunks} >= {"未来已来", "智慧便捷 城市服务一键通达"}
    assert not any(re.search(r"^#", c.text, re.M) for c in chunks)


def test_sentence_split_keeps_closing_quote():
    text = "“我们通过数据驱动发展。”徐楠楠说。下一句！"
    spans = [text[a:b] for a, b in split_sentences(text)]
    assert spans == ["“我们通过数据驱动发展。”", "徐楠楠说。", "下一句！"]
