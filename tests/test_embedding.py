"""The bundled embedding model, through the real files (no mocks).

These tests load the committed model offline and check the properties the rest of the
assistant relies on; speed is measured by ``benchmarks/embedding_bench.py``, not here.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything can import huggingface_hub

import numpy as np
import pytest

from assistant import config
from assistant.embedding import (
    StaticEncoder,
    is_static_model_dir,
    load_encoder,
    open_encoder,
    weights_digest,
)

SENTENCES = [
    "青岛地铁6号线智慧车站提升了异常行为识别率。",
    "What is the 5G coverage rate of administrative villages in Qingdao?",
    "青岛的5G网络 coverage 怎么样？",
    "ＡＢＣ全角字符与５Ｇ网络",
    "数字青岛2.0工程于2023年全面启动",
]


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(str(config.BUNDLED_MODEL_DIR))


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_default_is_bundled_static_model(encoder, monkeypatch):
    monkeypatch.delenv("ASSISTANT_MODEL", raising=False)
    assert load_encoder() is encoder  # cached per name; None -> config.model_name()
    assert isinstance(encoder, StaticEncoder)
    assert is_static_model_dir(config.BUNDLED_MODEL_DIR)
    digest = weights_digest(config.BUNDLED_MODEL_DIR)
    assert encoder.name == f"{config.BUNDLED_MODEL_NAME}@{digest}"
    assert len(digest) == 12


def test_shape_dtype_norm_and_determinism(encoder):
    first = encoder.encode(SENTENCES)
    second = open_encoder(str(config.BUNDLED_MODEL_DIR)).encode(SENTENCES)
    assert first.shape == (len(SENTENCES), encoder.dim)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, second)
    # a text's vector does not depend on the batch it is encoded in
    np.testing.assert_allclose(encoder.encode([SENTENCES[2]])[0], first[2], atol=1e-6)


def test_empty_emoji_and_huge_inputs_do_not_crash(encoder):
    vecs = encoder.encode(["", "😀🎉", "   ", "青岛" * 50_000])
    assert vecs.shape == (4, encoder.dim)
    assert np.isfinite(vecs).all()
    assert not vecs[0].any() and not vecs[1].any() and not vecs[2].any()
    assert np.linalg.norm(vecs[3]) == pytest.approx(1.0, abs=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_a_full_cache_gives_its_oldest_slots_to_new_words(monkeypatch):
    monkeypatch.setattr(StaticEncoder, "CACHE_ENTRIES", 4)
    encoder = open_encoder(str(config.BUNDLED_MODEL_DIR))
    words = ["青岛", "数据", "中心", "地铁", "覆盖率", "首席", "数据官"]
    plain = encoder._encode(words, False)
    for batch in (words, words[::-1], words[:2], words):  # hits and misses mixed, slots reused
        expected = plain[[words.index(w) for w in batch]]
        assert np.array_equal(encoder.encode(batch), expected)
    assert len(encoder._slots) == 4 and set(encoder._slots) <= set(words)


@pytest.mark.parametrize(
    "anchor,related,unrelated",
    [
        (
            "青岛地铁有多少条线路？",
            "青岛市轨道交通已开通运营多条地铁线路。",
            "医疗商业核保业务在包头成功复用。",
        ),
        ("数据要素市场化配置改革", "推进公共数据运营和数据交易", "海边的天气很好适合游泳"),
        # an English question is closer to its Chinese counterpart
        (
            "How many data centers has Qingdao built?",
            "青岛布局了多少个数据中心？",
            "今年夏天海水浴场游客很多。",
        ),
    ],
)
def test_related_text_scores_higher(encoder, anchor, related, unrelated):
    a, r, u = encoder.encode([anchor, related, unrelated])
    assert cos(a, r) > cos(a, u)


def test_fast_path_matches_sentence_transformers(encoder):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(config.BUNDLED_MODEL_DIR), device="cpu")
    reference = model.encode(SENTENCES, convert_to_numpy=True)
    assert reference.dtype == np.float32
    np.testing.assert_allclose(encoder.encode(SENTENCES), reference, atol=1e-4)
