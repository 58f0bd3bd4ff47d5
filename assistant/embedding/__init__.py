"""The one way to get a sentence encoder.

``load_encoder()`` returns the model named by ``assistant.config.model_name()`` (the bundled
``zh-use-static`` model unless ``ASSISTANT_MODEL`` or ``--model`` says otherwise).  Any
sentence-transformers model name or local path works.  A model directory that is a pure
``StaticEmbedding`` (optionally followed by ``Normalize``) is served by a numpy fast path that
reads the model's own files with ``tokenizers`` + ``safetensors`` and never imports torch or
sentence-transformers: ``import sentence_transformers`` alone costs ~4 s, which would dominate
the CLI's cold start.  The fast path reproduces ``SentenceTransformer(path).encode`` (mean of the
token rows, then L2 normalisation); ``tests/test_embedding.py`` checks that.

``Encoder.name`` is the identity recorded in an index manifest: the model's name plus a hash of
its weight files, identical across machines for identical files, so an index is never queried
with a different model than the one that built it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

from assistant import config

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["Encoder", "load_encoder", "open_encoder", "StaticEncoder", "SentenceTransformerEncoder"]

_STATIC_TYPES = ("StaticEmbedding",)
_NORMALIZE_TYPES = ("Normalize",)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


@runtime_checkable
class Encoder(Protocol):
    """What every module needs from an embedding model."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> "np.ndarray":
        """(len(texts), dim) float32, rows L2-normalised; a text with no known token -> zero row."""
        ...


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_digest(model_dir: Path) -> str:
    """First 12 hex digits of the sha256 of the model's weight file(s).

    One weight file: its own sha256 (so the name can be checked with ``sha256sum``).  Several:
    the sha256 of their sorted relative paths and digests.  Nothing else (README, configs) counts.
    """
    files = sorted(
        p
        for p in model_dir.rglob("*")
        if p.is_file() and p.suffix in _WEIGHT_SUFFIXES and ".cache" not in p.parts
    )
    if not files:
        raise FileNotFoundError(f"no weight file under {model_dir}")
    if len(files) == 1:
        return _sha256_file(files[0])[:12]
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.relative_to(model_dir).as_posix()}\0{_sha256_file(p)}\n".encode())
    return digest.hexdigest()[:12]


def _display_name(model: str, model_dir: Path | None) -> str:
    """The bundled model is called by its short name, a local directory by its own name (not its
    absolute path, which differs between machines), a hub model by its hub name."""
    if model_dir is None:
        return model
    if model_dir.resolve() == config.BUNDLED_MODEL_DIR.resolve():
        return config.BUNDLED_MODEL_NAME
    return model_dir.resolve().name


class StaticEncoder:
    """numpy + tokenizers implementation of a StaticEmbedding(+Normalize) model directory."""

    def __init__(self, model_dir: Path, name: str) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        static_dir = model_dir / (modules[0].get("path") or "")
        self._tokenizer = Tokenizer.from_file(str(static_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        weights = load_file(str(static_dir / "model.safetensors"))
        if "embedding.weight" in weights:
            table = weights["embedding.weight"].astype(np.float32)
        else:  # model2vec layout: shared rows, optional token -> row mapping and per-token weights
            table = weights["embeddings"].astype(np.float32)
            if "mapping" in weights:
                table = table[weights["mapping"].astype(np.int64)]
            if "weights" in weights:
                table = table * weights["weights"].astype(np.float32)[:, None]
        self._table = np.ascontiguousarray(table)
        self._normalize = any(m["type"].endswith(_NORMALIZE_TYPES) for m in modules[1:])
        self.dim = int(self._table.shape[1])
        self.name = f"{name}@{weights_digest(static_dir)}"
        # The remembered rows, in one matrix: a text's slot, and each slot's text (None: free).
        self._rows = np.zeros((self.CACHE_ENTRIES, self.dim), dtype=np.float32)
        self._slots: dict[str, int] = {}
        self._slot_texts: list[str | None] = [None] * self.CACHE_ENTRIES
        self._next_slot = 0
        self._cache_lock = threading.Lock()

    #: Rows of short texts (words, terms) are remembered: answering encodes the same words
    #: for every candidate sentence of every question. Each text is encoded on its own, so a
    #: remembered row is exactly the row a new encoding would give. A new text takes the
    #: oldest slot (first in, first out), so the words of recent questions stay: clearing a
    #: full cache at once re-encoded a corpus's common words every few hundred questions.
    CACHE_MAX_CHARS = 32
    CACHE_ENTRIES = 32768

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> "np.ndarray":
        """Mean of each text's token rows, then L2 normalisation (as EmbeddingBag(mean) + Normalize).

        A plain per-text loop: ``table[ids].sum(0)`` costs a few microseconds per text, while the
        vectorised ``np.add.reduceat(..., axis=0)`` is ~20x slower on (tokens x 256) arrays.
        Remembered rows are gathered in one step, under a lock: another thread's new text
        may take a slot between two statements.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if show_progress or len(texts) > 1024:
            return self._encode(texts, show_progress)
        with self._cache_lock:
            at = [self._slots.get(text, -1) for text in texts]
            out = self._rows[at]  # a copy; the rows of texts not remembered are set below
        missing: dict[str, list[int]] = {}
        for i, slot in enumerate(at):
            if slot < 0:
                missing.setdefault(texts[i], []).append(i)
        if missing:
            rows = self._encode(list(missing), False)
            with self._cache_lock:
                for (text, where), row in zip(missing.items(), rows):
                    out[where] = row
                    if len(text) <= self.CACHE_MAX_CHARS and text not in self._slots:
                        self._remember(text, row)
        return out

    def _remember(self, text: str, row: "np.ndarray") -> None:
        slot = self._next_slot
        old = self._slot_texts[slot]
        if old is not None:
            del self._slots[old]
        self._rows[slot] = row
        self._slot_texts[slot] = text
        self._slots[text] = slot
        self._next_slot = (slot + 1) % self.CACHE_ENTRIES

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._slots.clear()
            self._slot_texts = [None] * self.CACHE_ENTRIES
            self._next_slot = 0

    def _encode(self, texts: list[str], show_progress: bool) -> "np.ndarray":
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        table = self._table
        step = max(1, len(texts) // 10)
        for i, encoding in enumerate(self._tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids = encoding.ids
            if ids:
                row = table[ids].sum(axis=0)
                row /= np.float32(len(ids))
                if self._normalize:
                    row /= max(float(np.sqrt(row @ row)), 1e-12)
                out[i] = row
            if show_progress and (i + 1) % step == 0:
                logger.info("encoded %d/%d texts", i + 1, len(texts))
        return out


class SentenceTransformerEncoder:
    """Any other sentence-transformers model; loaded with the network-free defaults of the hub."""

    def __init__(self, model: str, model_dir: Path | None, name: str) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device="cpu")
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        if model_dir is None:
            model_dir = _hub_snapshot_dir(model)
        digest = weights_digest(model_dir) if model_dir is not None else _state_dict_digest(self._model)
        self.name = f"{name}@{digest}"

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> "np.ndarray":
        import numpy as np

        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            texts, show_progress_bar=show_progress, convert_to_numpy=True, normalize_embeddings=True
        )
        vecs = np.nan_to_num(np.asarray(vecs, dtype=np.float32))
        # transformers embed even "" (their [CLS]/[SEP]); keep the contract: no text, no vector
        blank = np.fromiter((not t.strip() for t in texts), dtype=bool, count=len(texts))
        vecs[blank] = 0.0
        return vecs


def _hub_snapshot_dir(model: str) -> Path | None:
    """Local snapshot directory of a hub model already in the cache (never downloads)."""
    try:
        from huggingface_hub import snapshot_download

        name = model if "/" in model else f"sentence-transformers/{model}"
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not a hub model, or not cached in the usual place
        return None


def _state_dict_digest(model: object) -> str:
    """Fallback identity: sha256 of every parameter, in name order."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):  # type: ignore[attr-defined]
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def is_static_model_dir(path: Path) -> bool:
    """True for a directory holding only a StaticEmbedding module, maybe followed by Normalize."""
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return False
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not modules or not modules[0].get("type", "").endswith(_STATIC_TYPES):
        return False
    return all(m.get("type", "").endswith(_NORMALIZE_TYPES) for m in modules[1:])


def load_encoder(model: str | None = None) -> Encoder:
    """The encoder for ``model`` (default: ``config.model_name()``), loaded once per name.

    ``load_encoder.cache_clear()`` forgets loaded models (e.g. after a rebuild).
    """
    return _load_cached(model or config.model_name())


@functools.lru_cache(maxsize=8)
def _load_cached(model: str) -> Encoder:
    return open_encoder(model)


load_encoder.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


def open_encoder(model: str) -> Encoder:
    """Load ``model`` now, without the cache."""
    path = Path(os.path.expanduser(model))
    model_dir = path if path.is_dir() else None
    name = _display_name(model, model_dir)
    if model_dir is not None and is_static_model_dir(model_dir):
        logger.debug("loading %s with the numpy StaticEmbedding fast path", model_dir)
        return StaticEncoder(model_dir, name)
    if model_dir is None and model == str(config.BUNDLED_MODEL_DIR):
        raise FileNotFoundError(
            f"bundled model missing at {model}; rebuild it with "
            "`python -m assistant.embedding.distill --out assistant/models/zh-use-static`"
        )
    logger.debug("loading %s with sentence-transformers", model)
    return SentenceTransformerEncoder(model, model_dir, name)


#: File beside a model (written by distill.py): English word -> nearest Chinese words.
LEXICON_FILE = "lexicon.tsv.gz"


@functools.lru_cache(maxsize=8)
def load_lexicon(model: str | None = None) -> dict[str, tuple[str, ...]]:
    """The model's bilingual side table, or an empty one for models that have none."""
    import gzip

    path = Path(os.path.expanduser(model or config.model_name())) / LEXICON_FILE
    if not path.is_file():
        return {}
    lexicon = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            word, _, chinese = line.rstrip("\n").partition("\t")
            lexicon[word] = tuple(chinese.split())
    return lexicon
