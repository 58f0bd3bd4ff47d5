"""Suggested questions: made at reindex from the staff's lists or section headings, each answered."""

import shutil
from pathlib import Path

import pytest

from assistant import Retriever, Turn, answer
from assistant.index import StaleIndexError, build_index, current_version_dir
from assistant.suggestions import heading_question

FIXTURES = Path(__file__).parent / "fixtures" / "suggestions"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real index of two invented articles: one lists no questions but has section headings,
    the other lists three, one of which its text does not answer."""
    root = tmp_path_factory.mktemp("suggestions")
    corpus = root / "corpus"
    shutil.copytree(FIXTURES, corpus)
    report = build_index(corpus, root / "index")
    return report, Retriever.load(root / "index")


def test_a_document_without_listed_questions_gets_one_per_heading(built):
    _, retriever = built
    made = [s for s in retriever.data.suggestions if s.doc_id == "haian-community"]
    assert made and all(s.origin == "heading" for s in made)
    # The numbering of "## 一、社区食堂" is not part of the question.
    assert "关于“社区食堂”，资料是怎么说的？" in [s.question for s in made]
    assert not any("一、" in s.question for s in made)


def test_every_stored_suggestion_is_answered(built):
    _, retriever = built
    assert len(retriever.data.suggestions) >= 4
    for s in retriever.data.suggestions:
        result = answer(s.question, retriever=retriever)
        assert not result.refused, (s.question, result.text)
    assert retriever.data.suggestion_vectors.shape[0] == len(retriever.data.suggestions)


def test_a_listed_question_the_assistant_refuses_is_left_out_and_reported(built):
    report, retriever = built
    unanswerable = "港湾停车场的月租是多少？"  # the article states no rent
    assert answer(unanswerable, retriever=retriever).refused
    assert unanswerable not in [s.question for s in retriever.data.suggestions]
    assert report.unanswered_suggestions == [unanswerable]
    listed = [s for s in retriever.data.suggestions if s.doc_id == "marina-parking"]
    assert listed and all(s.origin == "staff" for s in listed)  # its heading is only its title


def test_refusals_suggest_the_nearest_questions(built):
    _, retriever = built
    parking = answer("港湾停车场的月租是多少？", retriever=retriever)
    community = answer("社区医院几点开门？", retriever=retriever)
    assert parking.refused and community.refused
    assert parking.suggestions[0].startswith("港湾停车场"), parking.suggestions
    assert community.suggestions[0].startswith("关于“"), community.suggestions
    assert parking.suggestions != community.suggestions


def test_suggestions_leave_out_what_the_conversation_already_answered(built):
    _, retriever = built
    first = answer("港湾停车场改造后有多少个车位？", retriever=retriever)
    assert not first.refused
    follow = answer("港湾停车场的月租是多少？", [Turn(first.question, first.text)], retriever=retriever)
    assert follow.refused and follow.suggestions
    assert first.question not in follow.suggestions


def test_heading_questions_read_as_questions():
    assert heading_question("三、居家养老服务") == "关于“居家养老服务”，资料是怎么说的？"
    assert heading_question("第二章 数据开放") == "关于“数据开放”，资料是怎么说的？"
    # A heading that quotes something keeps its own quotes and gets none around it.
    quoting = "提质增效 激活数字经济“源动力”"
    assert heading_question(quoting) == f"关于{quoting}，资料是怎么说的？"
    assert heading_question("一、") is None


def test_an_index_without_its_suggestions_asks_for_a_reindex(built, tmp_path):
    _, retriever = built
    index = tmp_path / "index"
    shutil.copytree(retriever.data.path.parent, index)
    (current_version_dir(index) / "suggestions.json").unlink()
    with pytest.raises(StaleIndexError, match="reindex"):
        Retriever.load(index)


def test_a_reindex_asks_again_only_the_questions_of_changed_documents(tmp_path):
    """Verdicts are kept per document bytes: editing one file re-asks its questions alone."""
    import json

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES, corpus)
    build_index(corpus, tmp_path / "index")
    verdicts_path = tmp_path / "index" / ".cache" / "suggestions.json"
    first = json.loads(verdicts_path.read_text(encoding="utf-8"))
    assert first and any(v is False for v in first.values())  # the refused listed question too
    edited = corpus / "haian-community.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n社区食堂每天供应早餐。\n", encoding="utf-8")
    report = build_index(corpus, tmp_path / "index")
    second = json.loads(verdicts_path.read_text(encoding="utf-8"))
    parking = {k for k in first if "港湾" in k}
    community = {k for k in first if "港湾" not in k}
    # The unchanged parking article keeps its verdicts (same keys, same values); the edited
    # article's bytes changed, so its questions were asked again under new keys.
    assert parking and parking <= set(second) and all(second[k] == first[k] for k in parking)
    assert community and not community & set(second) and len(second) == len(first)
    assert report.unanswered_suggestions == ["港湾停车场的月租是多少？"]
    # A damaged verdicts file costs only time: every question is asked again.
    verdicts_path.write_text("not json", encoding="utf-8")
    edited.write_text(edited.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    again = build_index(corpus, tmp_path / "index")
    assert again.suggestions == report.suggestions
