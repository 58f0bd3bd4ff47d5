"""The one place that reads environment variables and holds tunable defaults.

Every other module asks this one, so that a deployment can change a setting without
hunting through the code, and so that the index fingerprint (see ``pipeline_fingerprint``)
covers every setting that changes what an index contains.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

#: The bundled static embedding model (distilled by ``python -m assistant.embedding.distill``).
BUNDLED_MODEL_NAME = "zh-use-static"
BUNDLED_MODEL_DIR = PACKAGE_DIR / "models" / BUNDLED_MODEL_NAME

#: Questions longer than this are cut (with a notice), so one paste cannot stall the server.
MAX_QUESTION_CHARS = 500
#: From a message over that limit (a paste), its last question is kept with this many sentences
#: before it, as the context a question leans on ("它" in "…6号线开通了。它有多长？").
LONG_PASTE_CONTEXT_SENTENCES = 1
#: A message longer than this (after punctuation and spaces are dropped) is never small talk;
#: the longest phrase of ``answering/smalltalk.py`` with a few fillers fits well within it.
SMALLTALK_MAX_CHARS = 40
#: A small-talk reply names at most this many documents (newest first) as what the sources cover…
SMALLTALK_TITLES = 3
#: …and offers at most this many of the questions staff listed for them as examples.
SMALLTALK_EXAMPLES = 3
#: Each earlier question or answer in a request's history is cut to this many characters too.
MAX_HISTORY_ENTRY_CHARS = MAX_QUESTION_CHARS
#: Only the last this-many turns of a history are read; older ones cannot change a follow-up.
MAX_HISTORY_TURNS = 10
#: Request bodies larger than this are turned away (HTTP 413) on every route of ``assistant serve``.
MAX_BODY_BYTES = 64 * 1024
#: After a 413, up to this much more of the refused body is read and dropped (for at most
#: ``BODY_DRAIN_SECONDS``), so that the client, still sending, gets the answer, not a reset.
BODY_DRAIN_BYTES = 1024 * 1024
BODY_DRAIN_SECONDS = 2.0

#: Files larger than this are skipped at reindex with a named reason.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: A file that is not UTF-8 is read as GB18030 only if this share of its Chinese characters is
#: among the ``COMMON_HANZI`` most frequent: real text scores ~0.99, UTF-8 or random bytes read
#: as GB18030 below 0.5 (see ``corpus.common_hanzi_share``).
GB18030_MIN_COMMON_SHARE = 0.8
#: How many characters count as common: the size of the official list (现代汉语常用字表).
COMMON_HANZI = 3500
#: A document's own date is looked for on this many lines at its top and at its end…
DOCUMENT_DATE_LINES = 5
#: …on a line no longer than this (a date line, a signature), not in running prose.
DOCUMENT_DATE_LINE_CHARS = 40


def corpus_dir() -> Path:
    return Path(os.environ.get("ASSISTANT_CORPUS") or PROJECT_DIR / "corpus")


def index_dir() -> Path:
    return Path(os.environ.get("ASSISTANT_INDEX") or PROJECT_DIR / "index")


def data_dir() -> Path:
    """Where the web app keeps its feedback database (not committed)."""
    return Path(os.environ.get("ASSISTANT_DATA") or PROJECT_DIR / "data")


def model_override() -> str | None:
    """The model a deployment asked for (``ASSISTANT_MODEL``), or None for the bundled one."""
    return os.environ.get("ASSISTANT_MODEL") or None


def model_name() -> str:
    """A sentence-transformers model name or local path; the bundled model by default."""
    return model_override() or str(BUNDLED_MODEL_DIR)


#: Where the trained answerer's coefficients are saved (``python -m assistant.answering.train``).
DEFAULT_ANSWER_MODEL = PACKAGE_DIR / "models" / "answerer.npz"


def answer_model_path() -> Path:
    """The trained answerer's artefact: ``ASSISTANT_ANSWER_MODEL``, else the committed one."""
    return Path(os.environ.get("ASSISTANT_ANSWER_MODEL") or DEFAULT_ANSWER_MODEL)


@dataclass(frozen=True)
class PipelineSettings:
    """Everything that changes what an index holds, apart from the corpus and the model.

    Chosen by measurement (see README, "Quality"); changing any field makes
    ``assistant reindex --check`` report the committed index as stale.
    """

    chunk_size: int = 300
    chunk_overlap: int = 60
    faiss_index: str = "flat"  # "flat", "hnsw" or "ivf"
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def fingerprint(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


PIPELINE = PipelineSettings()

#: How dense and BM25 scores are fused: "score" (weighted mean) or "rrf"; see README "Quality".
FUSION = "score"
#: Weight of the dense score in "score" fusion (the rest is BM25).
DENSE_WEIGHT = 0.5


@dataclass(frozen=True)
class AnsweringSettings:
    """Every tuned number of the answer stage (``assistant/answering/``), in one place.

    Chosen by measurement with ``assistant eval`` over ``eval/*.jsonl`` (see README "Quality").
    """

    #: Passages whose sentences compete to be quoted.
    passages: int = 4
    #: At most this many sentences are quoted.
    max_quotes: int = 2
    #: A further sentence is quoted only if it scores at least this share of the best one.
    second_quote_ratio: float = 0.9
    #: A sentence of another document giving the asked fact another value competes with the best
    #: (the newer document leads, the older is named) when it scores at least this share of it.
    rival_ratio: float = 0.5
    #: Characters around the best sentence that count as its context for term coverage.
    context_chars: int = 200
    #: Characters before a sentence that may name its subject (他, 该公司).
    before_chars: int = 120
    #: Two words count as synonyms when the model's vectors are at least this similar.
    synonym_sim: float = 0.6
    #: The noun a question asks about ("票价" in "票价多少钱") needs a closer synonym than other words.
    focus_synonym_sim: float = 0.75
    #: A word's weight is its surprisal in general Chinese above this many nats, at least ``min_weight``.
    surprisal_floor: float = 7.0
    min_weight: float = 0.5
    #: Verbs weigh this share: residents paraphrase what happened more than the thing it happened to.
    verb_weight: float = 0.5
    #: An English word the lexicon cannot translate weighs like a mid-weight word: a guess, not a fact.
    untranslated_weight: float = 3.0
    #: A refusal suggests at most this many questions (the nearest of those stored at reindex).
    suggestions: int = 3
    #: A refusal names a word the sources lack (other than the asked thing, unit or a name) only if
    #: it weighs at least this much (``Vocabulary.weight``): lighter words say little about a topic.
    #: Chosen from the missing terms of the questions eval/*.jsonl refuses and of long pastes: words
    #: that matter weigh 2 or more (医院 2.0, 游客 2.5, 感冒 2.3, 护照 5.4); filler less (项目 1.4,
    #: 新闻 1.5, 朋友 1.8, 看到 0.7, 还有 0.5).
    missing_term_weight: float = 2.0
    #: The question's words framing a short answer ("行政村5G覆盖率：95.15%") are left out past this
    #: many characters (Chinese) or words (English): a longer frame restates the question rather
    #: than labelling the fact.
    frame_max_chars: int = 16
    frame_max_words: int = 8
    # Training of the answer model (``python -m assistant.answering.train``).
    #: Folds by article for out-of-fold fitting, the threshold and the DRCD figures.
    folds: int = 5
    #: Inverse L2 strength of both logistic regressions (scikit-learn's ``C``).
    regularisation_c: float = 1.0
    #: Share of the training weight given to the project's own questions: few beside DRCD's,
    #: but the domain the product serves.
    own_questions_share: float = 0.3
    # Short answers (``answering/spans.py``).
    #: A noun run yields candidate spans of at most this many of its words.
    span_max_words: int = 4
    #: A span this many characters or fewer from the asked-about word, in its clause, counts as next to it.
    span_focus_chars: int = 4
    #: The span's neighbourhood: this many characters either side of it in the sentence …
    span_window_chars: int = 12
    #: … are compared with this many characters either side of the question word.
    span_question_window: int = 6
    #: Training: a candidate is a positive example when its CMRC F1 against a gold answer is at least this.
    span_positive_f1: float = 0.8
    #: Training: spans are cut from at most this many of a question's sentences holding a gold answer.
    span_gold_sentences: int = 2
    #: The span threshold's objective (``train.py``): the highest share of shown spans matching the gold
    #: (F1 >= ``span_positive_f1``) out of fold, among thresholds that still show a span on at least this
    #: share of the eligible right answers (gold of at most ``span_short_gold`` characters).
    span_min_shown: float = 0.6
    span_short_gold: int = 20


ANSWERING = AnsweringSettings()


# Web app (``assistant serve``).
#: Loopback by default: serving other machines is a deliberate ``--host 0.0.0.0``.
WEB_HOST = "127.0.0.1"
WEB_PORT = 7860
#: Answers computed at once: answering is CPU-bound and short, and more workers than cores only
#: lengthen the queue (saturated p95 1.16 s with 8, 0.91 s with 2; benchmarks/RESULTS.md).
WEB_CONCURRENCY = 2
#: Requests allowed to wait in Gradio's queue before new ones are turned away.
WEB_QUEUE_SIZE = 64
#: ``POST /api/ask`` answers off Gradio's queue: this many at once (CPU-bound, as above) …
API_CONCURRENCY = int(os.environ.get("ASSISTANT_API_CONCURRENCY") or 2)
#: … and this many more waiting; past that it answers 503 at once rather than queueing forever.
API_QUEUE_SIZE = int(os.environ.get("ASSISTANT_API_QUEUE") or 64)
#: Seconds a client turned away with 503 is asked to wait (``Retry-After``): a full queue drains in ~1 s.
API_RETRY_AFTER_S = 1


#: A feedback write waits at most this long (seconds) for a lock on each try…
FEEDBACK_BUSY_TIMEOUT = 0.1
#: …and is retried for this long before it is logged (with its payload) and given up.
FEEDBACK_RETRY_SECONDS = 60.0


def feedback_db() -> Path:
    """The SQLite file holding votes and unanswered questions."""
    return data_dir() / "feedback.sqlite3"


# Staff console (``assistant admin``; see README "Staff: the console").
#: Its own port beside the chat's, on loopback unless told otherwise.
ADMIN_PORT = 7861
#: Failed logins from one address allowed before each further attempt must wait.
ADMIN_FREE_ATTEMPTS = 3
#: The first wait after those, doubled at every further failure up to ``ADMIN_LOGIN_DELAY_MAX_S``.
ADMIN_LOGIN_DELAY_S = 2.0
ADMIN_LOGIN_DELAY_MAX_S = 300.0
#: A staff session ends after this many hours, idle or not.
ADMIN_SESSION_HOURS = 8
#: Files one upload may carry; each is held to ``MAX_FILE_BYTES``, the request to their sum.
ADMIN_MAX_UPLOAD_FILES = 10
#: Longest file name the console accepts for an upload (characters).
ADMIN_MAX_NAME_CHARS = 120
#: Shortest password ``assistant admin --set-password`` accepts.
ADMIN_MIN_PASSWORD_CHARS = 8
#: Newest distinct refused questions a preview tries against the pending file.
ADMIN_PREVIEW_QUESTIONS = 200
#: Sentences a preview lists (a longer file shows its first ones and says how many remain).
ADMIN_PREVIEW_SENTENCES = 400


def admin_password() -> str | None:
    """The console password given in the environment (``ASSISTANT_ADMIN_PASSWORD``), if any."""
    return os.environ.get("ASSISTANT_ADMIN_PASSWORD") or None


def admin_password_file() -> Path:
    """Holds a scrypt hash of the console password (``assistant admin --set-password`` writes it)."""
    return data_dir() / "admin-password"


def console_dir() -> Path:
    """The console's own files: uploads waiting for review and deleted files (not committed)."""
    return data_dir() / "console"
