"""Extractive answers, in stages: question → evidence → scoring → decision → render.

Nothing here writes a fact. Every answer is a template around whole sentences cut from
``Document.text`` by offset, so a quote can always be highlighted in its source.
"""

from ..retrieval import QuestionError
from .model import ModelError
from .pipeline import answer
from .types import Answer, Citation, ShortAnswer, Turn

__all__ = ["Answer", "Citation", "ModelError", "QuestionError", "ShortAnswer", "Turn", "answer"]
