from pathlib import Path

import pytest

from assistant.corpus import (
    CorpusFileError,
    load_corpus,
    normalise,
    read_document,
    repair_lines,
)

SEED = Path(__file__).resolve().parent.parent / "corpus" / "000_digital-qingdao.md"

ARTICLE = "# 标题\n\n青岛持续推进数字化转型,今年4月\n\n开通的6号线\n\n是全国第一条全自主运行系统线路。\n"


def test_repair_only_removes_line_breaks():
    text = normalise(SEED.read_text(encoding="utf-8"))
    repaired = repair_lines(text)
    assert repaired.replace("\n", "") == text.replace("\n", "")
    assert len(repaired) < len(text)


def test_seed_broken_sentence_is_whole():
    doc = read_document(SEED)
    assert "今年4月开通的6号线是轨道交通装备重点领域国家级示范工程" in doc.text
    # Subtitles without inner punctuation stay on their own line.
    assert "前瞻打造数字基础座架\n" in doc.text
    assert doc.title == "“数字青岛”领跑智慧城市新纪元"
    assert doc.source == "青岛早报 / 观海新闻" and doc.date == "2024-08"
    assert [h.title for h in doc.headings][1] == "未来已来"
    assert doc.questions


@pytest.mark.parametrize(
    "name,data",
    [
        ("utf8.txt", ARTICLE.encode("utf-8")),
        ("bom.txt", b"\xef\xbb\xbf" + ARTICLE.encode("utf-8")),
        ("gbk.txt", ARTICLE.encode("gbk")),
        ("crlf.md", ARTICLE.replace("\n", "\r\n").encode("gb18030")),
    ],
)
def test_encodings_decode_to_same_text(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    doc = read_document(path)
    assert "今年4月开通的6号线是全国第一条全自主运行系统线路。" in doc.text
    assert doc.title == "标题"


def test_html_main_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>青岛新闻</title><meta name='date' content='2024-08-09'>"
        "<script>var x='不应出现';</script></head><body><nav>首页 导航</nav>"
        "<article><h1>数字青岛</h1><p>青岛启动了“数字青岛2.0工程”。</p><h2>地铁</h2>"
        "<p>6号线是全自主运行线路。</p></article><footer>版权所有</footer></body></html>",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert doc.title == "青岛新闻" and doc.date == "2024-08-09"
    assert "青岛启动了“数字青岛2.0工程”。" in doc.text
    assert "导航" not in doc.text and "不应出现" not in doc.text and "版权" not in doc.text
    assert [h.title for h in doc.headings] == ["数字青岛", "地铁"]


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01\x02binary\x00" * 10, "binary"),
        (bytes(range(0x80, 0x100)) * 4, "undecodable"),
        (b"---\ntitle: x\nno colon here\n---\nbody text", "line 3"),
        (b"---\ntitle: x\nbody without closing fence", "no closing"),
    ],
)
def test_bad_files_have_named_reasons(tmp_path, data, reason):
    path = tmp_path / "bad.md"
    path.write_bytes(data)
    with pytest.raises(CorpusFileError) as err:
        read_document(path)
    assert reason in str(err.value) and "bad.md" in str(err.value)


def test_load_corpus_skips_bad_files_and_duplicates(tmp_path):
    (tmp_path / "a.md").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.md").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    docs, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["a"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert "duplicate of a.md" in reasons["b.md"]
    assert "empty" in reasons["empty.txt"]
    assert "unsupported" in reasons["image.png"]
