import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.corpus import (
    CorpusFileError,
    load_corpus,
    normalise,
    read_document,
    repair_lines,
)

PROJECT = Path(__file__).resolve().parent.parent
SEED = PROJECT / "corpus" / "000_digital-qingdao.md"

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
        # Issue 13, failure 8: UTF-16 text was "binary file".
        ("utf16le.txt", ARTICLE.encode("utf-16")),  # with its byte-order mark
        ("utf16be.txt", b"\xfe\xff" + ARTICLE.encode("utf-16-be")),
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


def test_utf8_cut_inside_its_last_character_is_read_as_utf8(tmp_path):
    """Issue 13, failure 6: a UTF-8 file missing its last byte was read as GB18030 ("鍋滆溅閫氱煡")."""
    path = tmp_path / "notice.md"
    path.write_bytes("# 停车通知\n\n明天小区停车场维修，请车主提前挪车。".encode()[:-1])
    doc = read_document(path)
    assert doc.title == "停车通知" and doc.text.endswith("请车主提前挪车")


@pytest.mark.parametrize(
    "data",
    [
        bytes(random.Random(13).randrange(0x81, 0xFF) for _ in range(2000)),  # random high bytes
        "青島地鐵6號線是全國第一條全自主運行系統線路。".encode("big5"),  # another CJK encoding
        "青島の地下鉄6号線は全自動運転の路線です。".encode("shift_jis"),
    ],
)
def test_bytes_that_only_decode_as_gb18030_by_accident_are_garbled_text(tmp_path, data):
    """Issue 13, failure 6: any bytes decode as GB18030; only Chinese that reads as Chinese is kept."""
    path = tmp_path / "noise.txt"
    path.write_bytes(data)
    data.decode("gb18030")  # decodable, yet not Chinese
    with pytest.raises(CorpusFileError, match="garbled text"):
        read_document(path)


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


# ------------------------------------------------------------------- .docx and .pdf

NOTICE_TITLE = "青岛市关于推进数字政务建设的通知"
NOTICE_AUTHOR = "青岛市大数据发展管理局"
NOTICE_LINES = [
    "一、总体要求",
    "到2025年，青岛市政务服务事项网上可办率达到98%，市民可以",  # a line the layout broke
    "在线办理社保、医保和公积金业务。",
    "二、主要任务",
    "全市新建5G基站3000个，实现行政村5G网络全覆盖。",
]


def make_docx(
    title: str = NOTICE_TITLE, author: str = NOTICE_AUTHOR, headings: bool = True, table: bool = False
) -> bytes:
    """A real Word file (python-docx): title, author and date in the core properties; with
    ``table``, a table of figures after the first section's text, its header cell merged."""
    import datetime
    import io

    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author = title, author
    props.created = datetime.datetime(2024, 8, 9, 10, 30, tzinfo=datetime.timezone.utc)
    for line in NOTICE_LINES:
        if line.endswith(("要求", "任务")):
            if headings:
                document.add_heading(line, level=1)
        else:
            document.add_paragraph(line)
        if table and line == NOTICE_LINES[2]:
            grid = document.add_table(rows=3, cols=2)
            grid.cell(0, 0).merge(grid.cell(0, 1)).text = "2025年主要指标"
            for row, (name, value) in enumerate([("5G基站", "3.3万个"), ("数据中心", "50个")], 1):
                grid.cell(row, 0).text, grid.cell(row, 1).text = name, value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_pdf(pages: list[list[str]], info: dict[str, str] | None = None, to_unicode: bool = True) -> bytes:
    """A real PDF with a text layer, written with pypdf (no extra dependency, no font file).

    The text is drawn as a Type0 font with Identity-H encoding, two bytes per glyph,
    with a ToUnicode map: the layout CJK PDFs from office software use. Without
    ``to_unicode`` the codes cannot be mapped back to characters (a garbled layer).
    """
    import io

    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter()
    chars = sorted({ch for page in pages for line in page for ch in line})
    code = {ch: i + 1 for i, ch in enumerate(chars)}

    def stream(text: str):
        s = DecodedStreamObject()
        s.set_data(text.encode("ascii"))
        return writer._add_object(s)

    def name(n: str) -> NameObject:
        return NameObject(n)

    cid_font = DictionaryObject(
        {
            name("/Type"): name("/Font"),
            name("/Subtype"): name("/CIDFontType2"),
            name("/BaseFont"): name("/NotoSansCJKsc-Regular"),
            name("/CIDSystemInfo"): DictionaryObject(
                {
                    name("/Registry"): TextStringObject("Adobe"),
                    name("/Ordering"): TextStringObject("Identity"),
                    name("/Supplement"): NumberObject(0),
                }
            ),
            name("/DW"): NumberObject(1000),
        }
    )
    font = DictionaryObject(
        {
            name("/Type"): name("/Font"),
            name("/Subtype"): name("/Type0"),
            name("/BaseFont"): name("/NotoSansCJKsc-Regular"),
            name("/Encoding"): name("/Identity-H"),
            name("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
        }
    )
    if to_unicode:
        cmap = [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
            f"{len(chars)} beginbfchar",
            *(f"<{code[ch]:04X}> <{ord(ch):04X}>" for ch in chars),
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
        font[name("/ToUnicode")] = stream("\n".join(cmap))
    resources = DictionaryObject({name("/Font"): DictionaryObject({name("/F1"): writer._add_object(font)})})
    for lines in pages:
        page = writer.add_blank_page(595, 842)
        page[name("/Resources")] = resources
        ops = ["BT", "/F1 12 Tf", "16 TL", "50 780 Td"]
        ops += ["<" + "".join(f"{code[ch]:04X}" for ch in line) + "> Tj T*" for line in lines]
        page[name("/Contents")] = stream("\n".join([*ops, "ET"]))
    if info:
        writer.add_metadata(info)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PDF_INFO = {"/Title": NOTICE_TITLE, "/Author": NOTICE_AUTHOR, "/CreationDate": "D:20240809103000+08'00'"}


def test_docx_properties_text_and_headings(tmp_path):
    path = tmp_path / "notice.docx"
    path.write_bytes(make_docx())
    doc = read_document(path)
    assert (doc.title, doc.source, doc.date) == (NOTICE_TITLE, NOTICE_AUTHOR, "2024-08-09")
    assert [(h.level, h.title) for h in doc.headings] == [(1, "一、总体要求"), (1, "二、主要任务")]
    assert "# 一、总体要求" in doc.text
    # The paragraph Word kept apart is one sentence again, and each knows its section.
    sentence = "到2025年，青岛市政务服务事项网上可办率达到98%，市民可以在线办理社保、医保和公积金业务。"
    assert sentence in doc.text
    assert doc.section_at(doc.text.index(sentence)) == "一、总体要求"
    assert doc.section_at(doc.text.index("全市新建5G基站3000个")) == "二、主要任务"


def test_docx_tables_are_read_in_place_one_row_a_line(tmp_path):
    path = tmp_path / "notice.docx"
    path.write_bytes(make_docx(table=True))
    doc = read_document(path)
    rows = "| 2025年主要指标 |\n| 5G基站 | 3.3万个 |\n| 数据中心 | 50个 |"
    assert rows in doc.text
    assert doc.text.index("公积金业务。") < doc.text.index(rows) < doc.text.index("二、主要任务")


def test_docx_without_title_falls_back_to_heading_then_file_name(tmp_path):
    path = tmp_path / "通知2024.docx"
    path.write_bytes(make_docx(title=""))
    assert read_document(path).title == "一、总体要求"
    path.write_bytes(make_docx(title="", headings=False))
    assert read_document(path).title == "通知2024"


def test_pdf_info_and_text_layer(tmp_path):
    path = tmp_path / "notice.pdf"
    path.write_bytes(make_pdf([NOTICE_LINES[:3], NOTICE_LINES[3:]], PDF_INFO))
    doc = read_document(path)
    assert (doc.title, doc.source, doc.date) == (NOTICE_TITLE, NOTICE_AUTHOR, "2024-08-09")
    # Lines broken by the page layout are joined; the second page follows the first.
    assert "市民可以在线办理社保、医保和公积金业务。" in doc.text
    assert doc.text.index("一、总体要求") < doc.text.index("全市新建5G基站3000个，实现行政村5G网络全覆盖。")


def test_pdf_without_info_uses_file_name(tmp_path):
    path = tmp_path / "政务通知.pdf"
    path.write_bytes(make_pdf([NOTICE_LINES]))
    doc = read_document(path)
    assert (doc.title, doc.source, doc.date) == ("政务通知", "", "")


def test_pdf_stray_unmapped_glyph_is_dropped(tmp_path):
    path = tmp_path / "notice.pdf"
    path.write_bytes(make_pdf([["青岛市\x02政务服务事项网上可办率达到98%。"]], PDF_INFO))
    assert read_document(path).text == "青岛市政务服务事项网上可办率达到98%。"


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("notice.docx", b"PK\x03\x04" + b"\x00garbage" * 50, "not a readable .docx"),
        ("notice.docx", "这不是Word文件".encode(), "not a readable .docx"),
        ("notice.docx", _truncated(make_docx()), "not a readable .docx"),
        ("notice.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8, "not a readable PDF"),
        ("notice.pdf", _truncated(make_pdf([NOTICE_LINES], PDF_INFO)), "not a readable PDF"),
        ("notice.pdf", make_pdf([["青岛市政务服务"]], PDF_INFO, to_unicode=False), "garbled"),
        ("notice.pdf", make_pdf([[]], PDF_INFO), "no text to index"),  # e.g. a scan
    ],
)
def test_corrupt_docx_and_pdf_name_the_file(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusFileError) as err:
        read_document(path)
    assert name in str(err.value) and reason in err.value.reason
    # In a corpus, the file is skipped with that reason; the good file is kept.
    (tmp_path / "good.md").write_text(ARTICLE, encoding="utf-8")
    docs, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["good"]
    assert [(s.path.name, reason in s.reason) for s in skipped] == [(name, True)]


def test_same_name_in_two_formats_keeps_both_documents(tmp_path):
    """Notices often arrive as notice.docx and notice.pdf: neither may hide the other."""
    (tmp_path / "notice.docx").write_bytes(make_docx())
    (tmp_path / "notice.pdf").write_bytes(make_pdf([["青岛地铁票价两元起步，全程最高八元。"]], PDF_INFO))
    docs, skipped = load_corpus(tmp_path)
    assert skipped == []
    assert [d.doc_id for d in docs] == ["notice", "notice.pdf"]
    assert "社保" in docs[0].text and "地铁票价" in docs[1].text


# ------------------------------------------------------------------ the staff's CLI


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=False,
    )


def test_reindex_names_every_skipped_file_and_builds_from_the_rest(tmp_path):
    from assistant import Retriever, config
    from assistant.index import current_version_dir

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    good = {
        "article.md": ARTICLE.encode("utf-8"),
        "gbk.txt": "青岛地铁票价两元起步，全程最高八元。".encode("gbk"),
        "notice.docx": make_docx(),
        "notice.pdf": make_pdf([["青岛市数据中心达到27个，机架总数超过3万架。"]], PDF_INFO),
    }
    bad = {
        "empty.md": (b"", "empty file"),
        "binary.txt": (b"\x00\x01\x02binary\x00" * 10, "binary file"),
        "latin.txt": (bytes(range(0x80, 0x100)) * 4, "undecodable"),
        "big.txt": (b"a" * (config.MAX_FILE_BYTES + 1), "too large"),
        "copy.md": (ARTICLE.encode("utf-8"), "exact duplicate of article.md"),
        "front.md": (b"---\ntitle: x\nno colon here\n---\nbody text", "malformed front matter at line 3"),
        "photo.png": (b"\x89PNG\r\n", "unsupported file type .png"),
        "broken.docx": (b"PK\x03\x04broken", "not a readable .docx"),
        "broken.pdf": (b"%PDF-1.7\nbroken", "not a readable PDF"),
    }
    for name, data in good.items():
        (corpus / name).write_bytes(data)
    for name, (data, _) in bad.items():
        (corpus / name).write_bytes(data)

    strict = run_cli("reindex", "-q", "--strict", "--corpus", str(corpus), "--index", str(index))
    assert strict.returncode != 0
    assert all(name in strict.stderr for name in bad), strict.stderr
    assert not (index / "CURRENT").exists()

    run = run_cli("reindex", "-q", "--corpus", str(corpus), "--index", str(index))
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    for name, (_, reason) in bad.items():
        assert any(line.startswith(f"skipped {corpus / name}: ") and reason in line for line in lines), (
            name,
            lines,
        )
    assert f"skipped {len(bad)} files" in run.stdout and "4 documents" in run.stdout
    retriever = Retriever.load(index)
    assert set(retriever.documents) == {"article", "gbk", "notice", "notice.pdf"}
    live = current_version_dir(index)

    # A strict run over the same bad files fails and leaves the live version alone.
    assert (
        run_cli("reindex", "-q", "--strict", "--corpus", str(corpus), "--index", str(index)).returncode != 0
    )
    assert current_version_dir(index) == live

    stats = run_cli("stats", "--json", "--index", str(index))
    assert stats.returncode == 0, stats.stderr
    data = json.loads(stats.stdout)
    assert data["documents"] == 4 and data["chunks"] == len(retriever.chunks) >= 4
    assert data["model"] == retriever.encoder.name and data["size_bytes"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["built_at"])


def test_a_file_that_cannot_be_read_is_named_not_raised(tmp_path):
    # e.g. deleted between the folder listing and the read, or without read permission
    with pytest.raises(CorpusFileError, match=r"gone\.md: unreadable: No such file"):
        read_document(tmp_path / "gone.md")


# ------------------------------------------------------------------------ links


SECRET = "机密：这一行在资料库之外，绝不能被索引。"


def test_links_to_outside_the_corpus_are_skipped_by_name_and_fail_strict(tmp_path):
    """Issue 13, failure 1: ``ln -s /etc/passwd corpus/x.md`` was indexed without a word."""
    outside, corpus, index = tmp_path / "outside", tmp_path / "corpus", tmp_path / "index"
    outside.mkdir()
    corpus.mkdir()
    (outside / "secret.md").write_text(f"# 机密\n\n{SECRET}\n", encoding="utf-8")
    (corpus / "good.md").write_text(ARTICLE, encoding="utf-8")
    (corpus / "x.md").symlink_to(outside / "secret.md")
    (corpus / "folder").symlink_to(outside, target_is_directory=True)
    docs, skipped = load_corpus(corpus)
    assert [d.doc_id for d in docs] == ["good"]
    assert {s.path.name: s.reason for s in skipped} == {
        "folder": f"link to outside the corpus: folder → {outside.resolve()}",
        "x.md": f"link to outside the corpus: x.md → {(outside / 'secret.md').resolve()}",
    }
    strict = run_cli("reindex", "-q", "--strict", "--corpus", str(corpus), "--index", str(index))
    assert strict.returncode != 0 and "x.md: link to outside the corpus" in strict.stderr
    run = run_cli("reindex", "-q", "--corpus", str(corpus), "--index", str(index))
    assert run.returncode == 0 and "link to outside the corpus: x.md → " in run.stderr
    assert not any(SECRET in p.read_text(encoding="utf-8") for p in index.rglob("*.json"))


def test_links_inside_the_corpus_are_followed_once_and_loops_skipped(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "a.md").write_text(ARTICLE, encoding="utf-8")
    (corpus / "alias.md").symlink_to(Path("sub") / "a.md")  # the same article twice
    (corpus / "sub" / "up").symlink_to(Path(".."), target_is_directory=True)  # a loop
    (corpus / "self.md").symlink_to(Path("self.md"))  # a loop of one
    (corpus / "ring.md").symlink_to(Path("ring.txt"))
    (corpus / "ring.txt").symlink_to(Path("ring.md"))
    (corpus / "other.md").write_text("# 其他\n\n青岛地铁票价两元起步。\n", encoding="utf-8")
    (corpus / "shortcut.md").symlink_to(corpus / "other.md")  # absolute, but inside
    (corpus / "more").symlink_to(Path("sub"), target_is_directory=True)  # a folder inside
    docs, skipped = load_corpus(corpus)
    assert [d.doc_id for d in docs] == ["other", "sub/a"]
    assert {s.path.relative_to(corpus).as_posix(): s.reason for s in skipped} == {
        "alias.md": "link to sub/a.md, which is read under its own name",
        "ring.md": "symlink loop",
        "ring.txt": "symlink loop",
        "more/a.md": "link to sub/a.md, which is read under its own name",
        "more/up": "symlink loop",
        "self.md": "symlink loop",
        "shortcut.md": "link to other.md, which is read under its own name",
        "sub/up": "symlink loop",
    }


def test_the_corpus_folder_may_itself_be_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.md").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "corpus").symlink_to(real, target_is_directory=True)
    docs, skipped = load_corpus(tmp_path / "corpus")
    assert [d.doc_id for d in docs] == ["a"] and skipped == []


# ------------------------------------------------------------- dates and catalogue


def plain_docx(lines: list[str]) -> bytes:
    """A Word file as python-docx writes it when nobody sets its properties."""
    import io

    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


SIGNED = [*NOTICE_LINES[1:3], "青岛市大数据发展管理局", "2024年8月7日"]


@pytest.mark.parametrize(
    "name,data,date,source",
    [
        # Issue 13, failure 7: cited as "python-docx · 2013-12-23", python-docx's template values.
        ("notice.docx", plain_docx(SIGNED), "2024-08-07", ""),
        ("notice.docx", plain_docx(NOTICE_LINES), "", ""),
        # A PDF's creation date is its export date: the date the text gives wins…
        (
            "notice.pdf",
            make_pdf([["发布日期：2024年8月7日", *NOTICE_LINES]], PDF_INFO),
            "2024-08-07",
            NOTICE_AUTHOR,
        ),
        # …and it is used when there is nothing else.
        ("notice.pdf", make_pdf([NOTICE_LINES], PDF_INFO), "2024-08-09", NOTICE_AUTHOR),
        ("signed.txt", "\n".join([*SIGNED[:-1], "二〇二四年八月七日"]).encode(), "2024-08-07", ""),
        ("dated.txt", "\n".join(["# 通知", "2024-08", *NOTICE_LINES]).encode(), "2024-08", ""),
        # Front matter beats a date in the text; a date inside prose dates an event, not the text.
        ("front.md", ("---\ndate: 2024-09\n---\n" + "\n".join(SIGNED)).encode(), "2024-09", ""),
        ("prose.md", "2024年8月7日，青岛地铁6号线开通。\n\n市民可以线上订票。".encode(), "", ""),
        ("bad.txt", "\n".join([*SIGNED[:-1], "2024年13月7日"]).encode(), "", ""),
    ],
)
def test_document_dates_prefer_what_the_text_says_to_file_properties(tmp_path, name, data, date, source):
    path = tmp_path / name
    path.write_bytes(data)
    doc = read_document(path)
    assert (doc.date, doc.source) == (date, source)


CATALOGUE = """
["a.md"]
title = "编目标题"
source = "青岛日报"
date = "2024-08-07"
questions = ["青岛地铁票价是多少？"]

["sub/b.md"]   # only some keys
date = 2024-09-01
"""

FRONT = (
    "---\ntitle: 原标题\ndate: 2023-01\nquestions: 原问题？\n---\n\n"
    "# 原标题\n\n青岛地铁票价两元起步，全程最高八元。\n"
)


def write_catalogued_corpus(corpus: Path, catalogue: str = CATALOGUE) -> None:
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.md").write_text(FRONT, encoding="utf-8")
    (corpus / "sub" / "b.md").write_text(ARTICLE, encoding="utf-8")
    (corpus / "catalogue.toml").write_text(catalogue, encoding="utf-8")


def test_catalogue_sets_title_source_date_and_questions_and_is_not_indexed(tmp_path):
    from assistant.corpus import CatalogueEntry, load_catalogue

    write_catalogued_corpus(tmp_path)
    assert load_catalogue(tmp_path) == {
        "a.md": CatalogueEntry("编目标题", "青岛日报", "2024-08-07", ("青岛地铁票价是多少？",)),
        "sub/b.md": CatalogueEntry(date="2024-09-01"),
    }
    docs, skipped = load_corpus(tmp_path)
    assert skipped == []  # catalogue.toml is no article
    a, b = docs
    assert (a.title, a.source, a.date, a.questions) == (
        "编目标题",
        "青岛日报",
        "2024-08-07",
        ("青岛地铁票价是多少？",),
    )
    assert (b.title, b.date) == ("标题", "2024-09-01")  # the rest still comes from the file


@pytest.mark.parametrize(
    "catalogue,problem",
    [
        ('["../outside.md"]\ntitle = "x"', "no '..'"),
        ('["/etc/passwd"]\ntitle = "x"', "relative to the corpus"),
        ('["sub\\\\b.md"]\ntitle = "x"', "with '/'"),
        ('["gone.md"]\ntitle = "x"', "no such file"),
        ('["a.md"]\ndate = "2024-13"', "YYYY-MM"),
        ('["a.md"]\ndate = "Aug 2024"', "YYYY-MM"),
        ('["a.md"]\nautor = "x"', "unknown key 'autor'"),
        ('["a.md"]\nquestions = "一个问题"', "list of questions"),
        ('["a.md"]\ntitle = ', "cannot be read"),
    ],
)
def test_catalogue_mistakes_are_clear_errors(tmp_path, catalogue, problem):
    from assistant.corpus import CatalogueError

    write_catalogued_corpus(tmp_path, catalogue)
    with pytest.raises(CatalogueError, match=re.escape(problem)):
        load_corpus(tmp_path)
    index = tmp_path.parent / f"{tmp_path.name}-index"
    run = run_cli("reindex", "-q", "--corpus", str(tmp_path), "--index", str(index))
    assert run.returncode == 1 and "catalogue.toml" in run.stderr and "Traceback" not in run.stderr


def test_catalogue_changes_what_reindex_check_sees(tmp_path):
    from assistant import Retriever
    from assistant.index import build_index, check_index

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_catalogued_corpus(corpus)
    build_index(corpus, index)
    assert check_index(corpus, index) == []
    (corpus / "catalogue.toml").write_text(CATALOGUE.replace("编目标题", "新标题"), encoding="utf-8")
    assert check_index(corpus, index) == ["changed file a.md"]
    build_index(corpus, index)
    assert Retriever.load(index).documents["a"].title == "新标题"
    (corpus / "catalogue.toml").unlink()  # back to what the file says, not a cached catalogue title
    build_index(corpus, index)
    assert Retriever.load(index).documents["a"].title == "原标题"


# ----------------------------------------------------- smaller faults (issue 13, failure 8)


def test_a_mistyped_corpus_folder_is_one_clear_line_and_creates_nothing(tmp_path):
    index = tmp_path / "index"
    for extra in ([], ["--check"]):
        run = run_cli("reindex", "-q", *extra, "--corpus", str(tmp_path / "corpsu"), "--index", str(index))
        assert run.returncode == 1, run.stderr
        assert run.stderr == f"error: corpus folder not found: {tmp_path / 'corpsu'}\n"
        assert not index.exists()


def test_when_every_file_is_bad_each_is_named(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n")
    run = run_cli("reindex", "-q", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert run.returncode == 1
    assert "no readable documents" in run.stderr
    assert "  empty.md: empty file\n" in run.stderr
    assert "  photo.png: unsupported file type .png" in run.stderr


def test_a_closed_pipe_ends_the_output_quietly(tmp_path, index_copy):
    """``assistant stats | head`` ended in a BrokenPipeError traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        run = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "stats", "--index", str(index_copy)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
            check=False,
        )
    finally:
        os.close(write)
    assert run.stderr == "" and run.returncode == 141
