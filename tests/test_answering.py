"""Answers over the committed index: question kinds, verbatim quotes, refusals, follow-ups."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Answer, QuestionError, Turn, answer


def ask(retriever, question, history=None) -> Answer:
    return answer(question, history, retriever=retriever)


def assert_verbatim(retriever, result: Answer):
    for c in result.citations:
        doc = retriever.documents[c.doc_id]
        assert doc.text[c.start : c.end] == c.quote
        assert c.quote in c.passage
        assert c.quote in result.text


@pytest.mark.parametrize(
    "question,gold",
    [
        ("行政村5G覆盖率是多少？", "95.15%"),  # 多少: a number
        ("青岛是哪一年启动数字青岛2.0工程的？", "2023年"),  # 哪一年: a date
        ("真情巴士集团的首席数据官是谁？", "程鹏"),  # 谁: a person
        ("哪些基础设施在加快智能化升级？", "交通、能源、市政"),  # 哪些: a list
        ("市民能不能在线上订票？", "线上订票"),  # 能不能: yes/no
        ("“青碳行”是什么？", "青碳行"),  # 是什么
        ("How many data centers has Qingdao built?", "50个数据中心"),
        ("青岛是第几批数字人民币试点地区？", "第二批"),  # an ordinal, when 第几 is asked
        ("海洋数据交易平台累计交易额是多少？", "1053万元"),  # money, stated
        ("数字技术引领了哪几条“链”的重构与优化？", "产业链、供应链、价值链"),  # 哪几: a list
        ("这篇报道的记者是谁？", "姜丹宁"),  # 这篇 names no topic: the byline is the answer
        ("记者跟随融媒体行到青岛采访是在哪几天？", "8月7日至8日"),  # 采访, a verb: paraphrased (见证)
        ("徐楠楠在檬豆担任什么职务？", "数字金融总经理"),  # 担任 only links the name to the title
        ("听说青岛智慧城市建设在全国挺靠前，到底排第几名？", "第九位"),  # 第几名: a rank, not people
        ("青岛地铁6号线有什么特别的？", "全自主运行系统"),  # 特别 says what kind of answer, not about what
        # English names in pinyin stand for the sources' own spelling, also for the search.
        ("Who is Xu Nannan?", "徐楠楠"),
        ("What is Cheng Peng's position at Zhenqing Bus Group?", "首席数据官程鹏"),
        ("Who is Jiang Danning?", "姜丹宁"),
    ],
)
def test_question_kinds_quote_the_fact(retriever, question, gold):
    result = ask(retriever, question)
    assert not result.refused, result.text
    assert any(gold in c.quote for c in result.citations), result.text
    assert 0.0 <= result.confidence <= 1.0
    assert_verbatim(retriever, result)


def test_english_template(retriever):
    result = ask(retriever, "How many data centers has Qingdao built?")
    sa = result.short_answer  # the fact first when there is one, else the English lead-in
    assert result.text.startswith(sa.frame + sa.text if sa else "According to the source")
    assert sa is None or sa.frame.isascii()


@pytest.mark.parametrize(
    "question",
    [
        "青岛有哪些好吃的海鲜？",
        "深圳的智慧城市排名第几？",  # in-domain words, another city
        "上海的数字人民币试点是哪一年开始的？",
        "如何办理护照？",
        "What is the best beach in Sanya?",
    ],
)
def test_refusals_name_missing_terms_and_suggest(retriever, question):
    result = ask(retriever, question)
    assert result.refused, result.text
    assert not result.citations
    assert "抱歉" in result.text or "Sorry" in result.text
    assert 2 <= len(result.suggestions) <= 3


@pytest.mark.parametrize(
    "question",
    [
        "青岛地铁6号线一共有多少个车站？",  # the sentences about line 6 state no count
        "数字青岛2.0工程一共投了多少钱？",  # an amount of money: no 元 in the quote
        "What time does the first train on Qingdao Metro Line 6 leave?",  # no time of day
        "全省首个数据要素产业园建在哪个区？",  # no district named
        "青岛地铁6号线全线一共设了多少个车站？",  # counted things: "85人次" and "60%" are no count
        "“双12”计划到2025年累计推出多少个应用？",  # the year asked about is nowhere near
        "青岛地铁6号线二期什么时候开通？",  # the sources speak of 一期 only
        "What is the population of Qingdao?",  # a population is counted in 人: "14项数据" is not one
        "What was the budget of the Digital Qingdao 2.0 project?",  # a budget is an amount in 元
        "入选国家软件百强的那4家青岛企业分别是哪几家？",  # a list wants names: "4家企业入选" is none
        "檬豆平台上目前有多少家中小企业上云？",  # "也是一家大数据平台": 一家 is "a", not a count
        "青岛的GDP是多少？",  # a code must be written: its vector is near "ABC" (0.61)
    ],
)
def test_the_asked_kind_of_fact_must_be_in_the_quote(retriever, question):
    result = ask(retriever, question)
    assert result.refused, result.text


@pytest.mark.parametrize(
    "question,name",
    [
        ("How many data centers does Shenzhen have?", "Shenzhen"),
        ("What rank did Chengdu get in the SMILE smart city index?", "Chengdu"),
    ],
)
def test_english_question_about_a_place_the_sources_never_name_is_refused(retriever, question, name):
    result = ask(retriever, question)
    assert result.refused, result.text
    assert name in result.missing_terms


def test_pinyin_names_are_capitalised_words_no_english_word_explains():
    from assistant.answering.question import pinyin_names as _pinyin_names
    from assistant.embedding import load_lexicon

    lexicon = load_lexicon()
    assert _pinyin_names("What does Xu Nannan say about Digital Qingdao?", lexicon) == ["Xu Nannan"]
    assert _pinyin_names("When did Qingdao Metro Line 6 open?", lexicon) == []
    assert _pinyin_names("Is the SMILE index of Chengdu higher?", lexicon) == ["Chengdu"]


def test_quantities_leave_out_dates_ordinals_and_the_questions_own_numbers():
    from assistant.answering.evidence import quantities as _quantities

    sentence = "今年4月开通的6号线是全国第一条全自主运行线路,2023年以来连续五年排名第九,建成50个数据中心。"
    assert _quantities(sentence, "6号线的成绩有多少？") == ["五", "50"]
    assert _quantities(sentence, "6号线有多少个车站？") == ["50"]  # counted: 五年 is no count
    assert _quantities("统一的一体化平台。", "有多少？") == []
    assert _quantities("青岛入选第二批试点。", "青岛是第几批试点？") == ["二"]


def test_other_city_is_named(retriever):
    result = ask(retriever, "深圳的智慧城市排名第几？")
    assert "深圳" in result.missing_terms and "深圳" in result.text


def test_suggestions_are_answerable(retriever):
    for q in ask(retriever, "如何办理护照？").suggestions:
        assert not ask(retriever, q).refused, q


def test_follow_up_uses_history(retriever):
    first = ask(retriever, "青岛地铁6号线是什么样的线路？")
    follow = ask(retriever, "它是什么时候开通的？", [Turn(first.question, first.text)])
    assert not follow.refused
    assert any("今年4月开通的6号线" in c.quote for c in follow.citations), follow.text


def test_follow_up_with_new_subject(retriever):
    first = ask(retriever, "行政村5G覆盖率是多少？")
    follow = ask(retriever, "那市内网间时延呢？", [Turn(first.question, first.text)])
    assert not follow.refused
    assert any("1.88毫秒" in c.quote for c in follow.citations), follow.text


def _conversation(retriever, *questions) -> list[Turn]:
    turns: list[Turn] = []
    for q in questions:
        turns.append(Turn(q, ask(retriever, q, turns).text))
    return turns


@pytest.mark.parametrize("follow", ["它有什么特别之处？", "那它有什么特别的？", "那它有什么特别之处？"])
def test_a_pronoun_follow_up_asks_about_the_subject_in_its_own_kind(retriever, follow):
    """Issue 15: refused after a when-question, or framed as a date ("关于时间…")."""
    follow_up = ask(retriever, follow, _conversation(retriever, "青岛地铁6号线是什么时候开通的？"))
    assert not follow_up.refused, follow_up.text
    assert any("全国第一条全自主运行系统" in c.quote for c in follow_up.citations), follow_up.text
    assert not follow_up.text.startswith("关于时间")


def test_a_lead_in_follow_up_with_its_own_question_gets_its_own_lead_in(retriever):
    follow_up = ask(retriever, "那6号线有什么特别的？", _conversation(retriever, "青岛地铁6号线是什么时候开通的？"))
    assert not follow_up.refused
    assert follow_up.text.startswith("根据资料"), follow_up.text


def test_an_ellipsis_swaps_in_its_words_and_keeps_the_previous_kind(retriever):
    follow_up = ask(retriever, "那时延呢？", _conversation(retriever, "青岛行政村5G覆盖率是多少？"))
    assert any("1.88毫秒" in c.quote for c in follow_up.citations), follow_up.text
    sa = follow_up.short_answer  # a number, as before: the swapped-in one's, or the number lead-in
    assert (sa and "1.88毫秒" in sa.text) or follow_up.text.startswith("资料中的相关数字如下"), follow_up.text


def test_a_new_question_with_its_own_subject_is_no_follow_up(retriever):
    alone = ask(retriever, "海洋数据交易平台累计交易额是多少？")
    after = ask(retriever, "海洋数据交易平台累计交易额是多少？", _conversation(retriever, "青岛地铁6号线是什么时候开通的？"))
    assert after.text == alone.text and "1053万元" in after.text


@pytest.mark.parametrize(
    ("earlier", "follow"),
    [
        ("青岛地铁6号线是什么时候开通的？", "它的单程票价是多少？"),  # a detail the article does not give
        ("海洋数据交易平台累计交易额是多少？", "这个平台是哪一年上线的？"),  # only another platform's is given
        ("青岛行政村5G覆盖率是多少？", "那济南呢？"),  # another city
        ("青岛地铁6号线是什么时候开通的？", "那1号线呢？"),  # another line
    ],
)
def test_a_follow_up_the_sources_do_not_answer_is_refused(retriever, earlier, follow):
    follow_up = ask(retriever, follow, _conversation(retriever, earlier))
    assert follow_up.refused, follow_up.text


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_raises(retriever, question):
    with pytest.raises(QuestionError, match="empty"):
        ask(retriever, question)


@pytest.mark.parametrize("question", ["😀😀😀", "asdkjh qwpoeiu zxmcnb", "？？？"])
def test_nonsense_is_refused(retriever, question):
    assert ask(retriever, question).refused


def test_markup_is_never_echoed(retriever):
    result = ask(retriever, "<script>alert(1)</script>青岛行政村5G覆盖率是多少？")
    assert "<script>" not in result.text


def test_long_question_is_cut_and_says_so(retriever):
    result = ask(retriever, "行政村5G覆盖率是多少？" + "啊" * 20_000)
    assert result.truncated
    assert "问题过长" in result.text


def test_cli_ask_json_and_errors(index_copy):
    base = [sys.executable, "-m", "assistant.cli"]
    out = subprocess.run(
        base + ["ask", "行政村5G覆盖率是多少？", "--index", str(index_copy), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    assert {"text", "refused", "confidence", "citations"} <= data.keys()
    assert {"n", "doc_id", "title", "section", "date", "source", "quote", "passage", "start", "end"} <= (
        data["citations"][0].keys()
    )
    bad = subprocess.run(
        base + ["ask", "  ", "--index", str(index_copy), "--json"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "error" in json.loads(bad.stdout)


def test_history_is_cut_to_its_last_turns_and_each_entry_to_the_limit(retriever):
    """Issue 13, failure 2: a follow-up whose history held a 0.95 MB question stalled the server."""
    from assistant import config
    from assistant.answering.types import clip_history

    huge = "行政村5G覆盖率是多少？" * 90_000  # ~1 M characters
    history = [Turn(f"问题{i}", f"回答{i}") for i in range(30)] + [Turn(huge, huge)]
    clipped = clip_history(history)
    assert len(clipped) == config.MAX_HISTORY_TURNS
    assert clipped[0] == Turn("问题21", "回答21")
    assert clipped[-1] == Turn(huge[: config.MAX_HISTORY_ENTRY_CHARS], huge[: config.MAX_HISTORY_ENTRY_CHARS])
    follow = "那时延呢？"
    assert ask(retriever, follow, history) == ask(retriever, follow, clipped)


# ---------------------------------------------------------------------- look-alike articles

LOOKALIKES = Path(__file__).resolve().parent / "fixtures" / "lookalike"
#: Each invented article states the same kinds of fact as the seed article, for its own city.
CITY_FILES = {"烟台": "yantai.md", "威海": "weihai.md", "日照": "rizhao.md"}
FACT_QUESTIONS = [
    "{city}的大数据局局长是谁？",
    "{city}地铁一共有多少座车站？",
    "{city}行政村5G覆盖率是多少？",
    "{city}公交的首席数据官是谁？",
    "{city}布局了多少个数据中心？",
]


@pytest.fixture(scope="module")
def lookalike_retriever(tmp_path_factory):
    """The seed article beside three invented look-alike articles (fixtures, never in corpus/)."""
    from assistant import Retriever
    from assistant.index import build_index

    root = tmp_path_factory.mktemp("lookalike")
    corpus = root / "corpus"
    corpus.mkdir()
    for path in [*sorted(Path("corpus").glob("*.md")), *sorted(LOOKALIKES.glob("*.md"))]:
        (corpus / path.name).write_bytes(path.read_bytes())
    build_index(corpus, root / "index")
    return Retriever.load(root / "index")


@pytest.mark.parametrize("city", ["青岛", *CITY_FILES])
@pytest.mark.parametrize("template", FACT_QUESTIONS)
def test_a_question_naming_a_city_gets_that_citys_fact_or_a_refusal(lookalike_retriever, city, template):
    result = ask(lookalike_retriever, template.format(city=city))
    assert_verbatim(lookalike_retriever, result)
    for c in result.citations:
        assert city in c.title or city in lookalike_retriever.documents[c.doc_id].text[: c.start + 200], c
        other = [name for name in CITY_FILES if name != city]
        assert not any(name in c.quote for name in other), c.quote


@pytest.mark.parametrize("city", CITY_FILES)
def test_each_look_alike_city_is_answered_from_its_own_article(lookalike_retriever, city):
    result = ask(lookalike_retriever, f"{city}行政村5G覆盖率是多少？")
    assert not result.refused, result.text
    assert {c.doc_id for c in result.citations} == {Path(CITY_FILES[city]).stem}


def test_a_city_no_article_covers_is_refused_by_name(lookalike_retriever):
    result = ask(lookalike_retriever, "济南的大数据局局长是谁？")
    assert result.refused and "济南" in result.missing_terms
    assert "name_not_in_context" in result.reasons and "name_not_in_context" in result.to_dict()["reasons"]


@pytest.mark.parametrize(
    "word, name",
    [("唐爱陆", True), ("齿河盗龙", True), ("最多能", False), ("挤进", False), ("数据中心", False)],
)
def test_a_likely_name_is_a_long_guess_that_holds_no_dictionary_word(retriever, word, name):
    from assistant.answering.vocabulary import vocabulary

    assert vocabulary(retriever).is_unknown_name(word) is name


# ------------------------------------------------------------------ what a refusal offers

LONG_PASTES = [
    "我前几天在朋友圈看到一篇文章，说青岛还有很多智慧城市的项目，比如智慧停车、智慧医疗之类的，"
    "我想问问青岛的智慧停车有多少个泊位？",
    "我看到新闻说青岛还有无人驾驶公交之类的，想问问在哪里能坐？",
    "我是外地来的游客，刚到青岛，看到很多地方都在说数字青岛，还有什么城市大脑之类的，"
    "想问问这个城市大脑到底能干什么，能不能帮我们查景点门票？",
]


@pytest.mark.parametrize(
    "question",
    [
        "数字青岛2.0工程一共投了多少钱？",  # 多少钱: analysis asks for 元, the resident never typed it
        "青岛地铁票价多少钱？",
        "What was the budget of the Digital Qingdao 2.0 project?",
        "What is the population of Qingdao?",  # a population is counted in 人
        *LONG_PASTES,
    ],
)
def test_missing_terms_are_words_the_resident_typed(retriever, question):
    result = ask(retriever, question)
    assert result.refused, result.text
    assert "元" not in result.missing_terms and "人" not in result.missing_terms
    for term in result.missing_terms:
        assert term in question, (term, result.missing_terms)


@pytest.mark.parametrize("question", LONG_PASTES)
def test_missing_terms_leave_out_the_filler_of_a_long_paste(retriever, question):
    result = ask(retriever, question)
    assert result.refused, result.text
    filler = {"看到", "还有", "之类", "问问", "很多", "一篇", "比如", "想问"}
    assert not filler & set(result.missing_terms), result.missing_terms
    assert result.missing_terms  # what matters is still named


@pytest.mark.parametrize(
    "question,named",
    [
        ("青岛地铁票价多少钱？", "票价"),  # the thing asked about
        ("青島地鐵票價多少錢？", "票價"),  # as the resident typed it, in Traditional characters
        ("青岛的GDP是多少？", "GDP"),  # and in the resident's capitals
        ("我看到新闻说青岛还有无人驾驶公交之类的，想问问在哪里能坐？", "无人驾驶"),
        ("上海的行政村5G覆盖率是多少？", "上海"),  # a place weighs little in general Chinese, but names
    ],
)
def test_missing_terms_name_what_matters(retriever, question, named):
    result = ask(retriever, question)
    assert result.refused and named in result.missing_terms, result.missing_terms
    assert f"资料中没有提到：{'、'.join(result.missing_terms)}。" in result.text


def test_suggestions_differ_by_question(retriever):
    metro = ask(retriever, "青岛地铁票价多少钱？")
    coverage = ask(retriever, "深圳的行政村5G覆盖率是多少？")
    brand = ask(retriever, "“双11”是什么？")
    assert metro.refused and coverage.refused and brand.refused
    assert metro.suggestions[0] == "青岛地铁6号线有什么特别之处？", metro.suggestions
    assert coverage.suggestions[0] == "青岛行政村5G覆盖率是多少？", coverage.suggestions
    assert brand.suggestions[0] == "什么是“双12”？", brand.suggestions


def test_the_refused_question_itself_is_never_suggested(retriever):
    from assistant.answering.question import analyse
    from assistant.answering.render import suggest

    for s in retriever.data.suggestions:
        assert s.question not in suggest(retriever, analyse(s.question, [], retriever), [])


def test_a_question_answered_earlier_in_the_conversation_is_not_suggested(retriever):
    first = ask(retriever, "青岛地铁6号线有什么特别之处？")
    assert not first.refused
    later = ask(retriever, "青岛地铁票价多少钱？", [Turn(first.question, first.text)])
    assert later.refused and later.suggestions
    assert first.question not in later.suggestions


# ----------------------------------------------------------------- the newest source wins

NEWEST = Path(__file__).resolve().parent / "fixtures" / "newest"


def index_with(root: Path, names: list[str]):
    """The seed article beside invented 临沂 articles (fixtures), indexed by the real build."""
    from assistant import Retriever
    from assistant.index import build_index

    corpus = root / "corpus"
    corpus.mkdir()
    for path in [*sorted(Path("corpus").glob("*.md")), *(NEWEST / n for n in names)]:
        (corpus / path.name).write_bytes(path.read_bytes())
    build_index(corpus, root / "index")
    return Retriever.load(root / "index")


@pytest.fixture(scope="module")
def dated_pair(tmp_path_factory):
    return index_with(tmp_path_factory.mktemp("newest"), ["linyi-2023.md", "linyi-2025.md"])


@pytest.mark.parametrize("question", ["临沂行政村5G覆盖率是多少？", "临沂市行政村的5G覆盖率达到了多少？"])
def test_the_newer_document_leads_and_the_older_value_is_named(dated_pair, question):
    result = ask(dated_pair, question)
    assert not result.refused, result.text
    assert_verbatim(dated_pair, result)
    lead, older = result.citations[0], result.citations[result.earlier - 1]
    assert lead.date == "2025-03" and "96.8%" in lead.quote
    assert older.date == "2023-05" and "80.3%" in older.quote and result.earlier == len(result.citations)
    quotes, named = result.text.split("\n\n")[1:3]
    assert "96.8%" in quotes and "80.3%" not in quotes  # the older value is not quoted as the answer
    assert named.startswith("此前（2023-05）资料为：") and "80.3%" in named
    assert result.to_dict()["earlier"] == result.earlier


def test_confidence_is_that_of_the_sentence_shown(dated_pair):
    """The sentence model prefers the older article's plainer sentence; the newer one leads, and
    the answer model reads the newer one's probability, not the top one."""
    import math

    from assistant.answering.model import current_model
    from assistant.answering.pipeline import assess, gather
    from assistant.answering.question import analyse

    q = analyse("临沂行政村5G覆盖率是多少？", [], dated_pair)
    ev = gather(q, dated_pair)
    a = assess(ev, current_model(), dated_pair)
    lead = a.quotes[0]
    assert lead.passage.date == "2025-03" and a.earlier.passage.date == "2023-05"
    assert a.earlier.score > lead.score == pytest.approx(sorted(c.score for c in ev.eligible)[-2])
    assert a.row[0] == pytest.approx(math.log(lead.score / (1 - lead.score)))


def test_an_undated_document_ranks_after_a_dated_one(tmp_path):
    retriever = index_with(tmp_path, ["linyi-2025.md", "linyi-undated.md"])
    result = ask(retriever, "临沂行政村5G覆盖率是多少？")
    assert not result.refused, result.text
    assert "96.8%" in result.citations[0].quote and result.citations[0].date == "2025-03"
    older = result.citations[result.earlier - 1]
    assert older.date == "" and "70.5%" in older.quote
    assert "另有未注明日期的资料为：" in result.text


def test_one_document_alone_names_no_older_value(retriever):
    result = ask(retriever, "行政村5G覆盖率是多少？")
    assert result.earlier is None and "此前" not in result.text
