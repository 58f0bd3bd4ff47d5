"""青岛数字问答: extractive answers about Qingdao's digital-city programme.

The public API is imported lazily, so ``import assistant`` stays cheap and the CLI
starts fast; nothing heavy (faiss, jieba, gradio) loads until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "Answer",
    "Citation",
    "ModelError",
    "Passage",
    "QuestionError",
    "Retriever",
    "ShortAnswer",
    "Turn",
    "answer",
    "retrieve",
]

_EXPORTS = {
    "Passage": "retrieval",
    "QuestionError": "retrieval",
    "Retriever": "retrieval",
    "retrieve": "retrieval",
    "Answer": "answering",
    "Citation": "answering",
    "ModelError": "answering",
    "ShortAnswer": "answering",
    "Turn": "answering",
    "answer": "answering",
}

if TYPE_CHECKING:  # pragma: no cover
    from .answering import Answer, Citation, ModelError, ShortAnswer, Turn, answer
    from .retrieval import Passage, QuestionError, Retriever, retrieve


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
