"""The trained answerer's artefact: three logistic regressions applied with numpy alone.

``python -m assistant.answering.train`` fits them (scikit-learn, at training time only):

- the *sentence* model gives each candidate sentence the probability that it holds the
  answer, and so chooses what is quoted;
- the *answer* model turns the chosen sentence's evidence into a calibrated probability
  that the quote answers (``Answer.confidence``); below the threshold the training
  objective chose, the assistant refuses;
- the *span* model gives each candidate span of the quotes (``spans.py``) the probability
  that it is the answer; the best is shown first when it clears ``span_threshold``.

The artefact stores a hash of the feature schema: a model trained on other features is
refused loudly rather than scoring with misaligned weights.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config

TRAIN_COMMAND = "python -m assistant.answering.train"


class ModelError(RuntimeError):
    """The answer model is missing, unreadable or trained for other features."""


def schema_hash() -> str:
    """A hash of the models' feature names, in order: what the coefficients line up with."""
    from .features import ANSWER_FEATURES, SENTENCE_FEATURES
    from .spans import SPAN_FEATURES

    blob = json.dumps([SENTENCE_FEATURES, ANSWER_FEATURES, SPAN_FEATURES]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class Logistic:
    """A standardised logistic regression: p = σ(((x - mean) / scale) · coef + intercept)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(x)))


@dataclass(frozen=True)
class AnswerModel:
    sentence: Logistic
    answer: Logistic
    threshold: float  # refuse below this calibrated probability
    span: Logistic
    span_threshold: float  # show the best span at or above this calibrated probability
    info: dict  # what it was trained on, its objective and out-of-fold figures

    def save(self, path: Path) -> None:
        """Written beside and renamed into place: a reader never sees half a model."""
        arrays: dict[str, np.ndarray] = {}
        for name in _LOGISTICS:
            m: Logistic = getattr(self, name)
            arrays |= {f"{name}_mean": m.mean, f"{name}_scale": m.scale, f"{name}_coef": m.coef}
            arrays[f"{name}_intercept"] = np.array(m.intercept)
        arrays["threshold"] = np.array(self.threshold)
        arrays["span_threshold"] = np.array(self.span_threshold)
        arrays["schema"] = np.array(schema_hash())
        arrays["info"] = np.array(json.dumps(self.info, ensure_ascii=False, sort_keys=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)


_LOGISTICS = ("sentence", "answer", "span")


def load_model(path: Path | None = None) -> AnswerModel:
    path = Path(path or config.answer_model_path())
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ModelError(f"cannot read the answer model {path} ({exc}): run `{TRAIN_COMMAND}`") from exc
    with z:
        try:
            schema = str(z["schema"])
            if schema != schema_hash():
                raise ModelError(
                    f"the answer model {path} was trained for other features (schema {schema}, "
                    f"code {schema_hash()}): run `{TRAIN_COMMAND}`"
                )

            def logistic(name: str) -> Logistic:
                return Logistic(
                    z[f"{name}_mean"], z[f"{name}_scale"], z[f"{name}_coef"], float(z[f"{name}_intercept"])
                )

            return AnswerModel(
                logistic("sentence"),
                logistic("answer"),
                float(z["threshold"]),
                logistic("span"),
                float(z["span_threshold"]),
                json.loads(str(z["info"])),
            )
        except (KeyError, ValueError) as exc:
            raise ModelError(f"the answer model {path} is malformed ({exc}): run `{TRAIN_COMMAND}`") from exc


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> AnswerModel:
    return load_model(Path(path))


def current_model() -> AnswerModel:
    """The configured model, reloaded when its file changes (retraining needs no restart)."""
    path = config.answer_model_path()
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise ModelError(f"the answer model {path} is missing: run `{TRAIN_COMMAND}`") from exc
    return _cached(str(path), mtime)
