"""The ``assistant`` command: reindex | search | ask | eval | serve | admin | stats | feedback.

Only this module prints. Heavy imports sit inside the command functions, so
``assistant ask`` never loads the web stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from . import config

EXIT_CORPUS = 1
EXIT_BAD_INPUT = 2
EXIT_INDEX = 3
EXIT_MODEL = 2  # the answer model is missing or stale: the message names the train command
EXIT_BROKEN_PIPE = 141  # what a shell reports for a program that SIGPIPE stopped


def _emit_error(args: argparse.Namespace, message: str, code: int) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message}, ensure_ascii=False))
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


def printable(text: str) -> str:
    """``text`` with every non-printable character written as an escape (``\\x1b``, ``\\u202e``):
    residents' questions must not move the cursor, clear the screen or retitle the terminal."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


# ------------------------------------------------------------------------- reindex


def cmd_reindex(args: argparse.Namespace) -> int:
    from .index import IndexError_, build_index, check_index

    corpus_dir = Path(args.corpus or config.corpus_dir())
    index_dir = Path(args.index or config.index_dir())
    if args.check:
        problems = check_index(corpus_dir, index_dir, args.model)
        if problems:
            for p in problems:
                print(f"stale: {p}")
            print(f"run `assistant reindex --corpus {corpus_dir} --index {index_dir}` to rebuild")
            return 1
        print(f"index {index_dir} is up to date with {corpus_dir}")
        return 0

    from tqdm import tqdm

    def progress(items):
        return tqdm(items, desc="indexing", unit="doc", disable=args.quiet or None)

    try:
        report = build_index(corpus_dir, index_dir, args.model, progress, strict=args.strict)
    except IndexError_ as exc:
        lines = str(exc).split("\n")  # one skipped file a line
        print("\n".join(["error: " + printable(lines[0]), *map(printable, lines[1:])]), file=sys.stderr)
        return 1
    for s in report.skipped:  # file names are anyone's text: no terminal escapes
        print(f"skipped {printable(str(s.path))}: {printable(s.reason)}", file=sys.stderr)
    state = "unchanged, " if report.unchanged else ""
    print(
        f"{state}{report.documents} documents, {report.chunks} chunks, {report.seconds:.1f} s "
        f"(version {report.version}; re-embedded {report.embedded_chunks} chunks, "
        f"reused {report.reused_documents} documents, skipped {len(report.skipped)} files; "
        f"{report.suggestions} suggested questions)"
    )
    for q in report.unanswered_suggestions:
        print(
            f"listed question not suggested (the assistant does not answer it): {printable(q)}",
            file=sys.stderr,
        )
    return 0


# -------------------------------------------------------------------------- search


def cmd_search(args: argparse.Namespace) -> int:
    from .retrieval import Retriever

    retriever = Retriever.load(args.index)
    passages = retriever.search(args.query, args.k)
    if args.json:
        print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=1))
        return 0
    for rank, p in enumerate(passages, 1):
        where = " · ".join(x for x in (p.title, p.section, p.date) if x)
        print(f"[{rank}] score {p.score:.3f}  {where}  ({p.doc_id} {p.start}-{p.end})")
        print(f"    {p.text}\n")
    return 0


# ----------------------------------------------------------------------------- ask


def cmd_ask(args: argparse.Namespace) -> int:
    from .answering import answer
    from .retrieval import Retriever

    result = answer(args.question, retriever=Retriever.load(args.index))
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(result.text)
    return 0


# ---------------------------------------------------------------------------- eval


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import QuestionFileError, evaluate, format_report, gate_failures

    try:
        report = evaluate(Path(args.file), index_dir=args.index)
    except QuestionFileError as exc:
        return _emit_error(args, str(exc), EXIT_BAD_INPUT)
    minimums = {"answer_accuracy": args.min_accuracy, "refusal_recall": args.min_refusal}
    return print_and_gate(report, format_report(report), args.json, gate_failures(report, minimums))


def print_and_gate(report: dict, text: str, as_json: bool, failed: list[str]) -> int:
    """A quality report as JSON or text on stdout, each failed gate on stderr: exit 1 if any."""
    print(json.dumps(report, ensure_ascii=False, indent=1) if as_json else text)
    for f in failed:
        print(f"quality gate failed: {f}", file=sys.stderr)
    return 1 if failed else 0


# --------------------------------------------------------------------------- stats


def cmd_stats(args: argparse.Namespace) -> int:
    from .index import index_stats

    stats = index_stats(Path(args.index or config.index_dir()))
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=1))
    else:
        for key, value in stats.items():
            print(f"{key:>12}: {value}")
    return 0


# --------------------------------------------------------------------------- serve


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the server starts its threads.

    glibc gives busy threads arenas of their own (up to 8 per core); Gradio's worker
    threads then keep freed memory scattered over them, and the server's RSS creeps up
    under load (+12.6 % after 9,000 requests of benchmarks/load.py, +7.0 % with two arenas,
    Gradio's session store capped alike). The GIL serialises Python's allocations anyway,
    so two arenas cost nothing measurable.
    ``MALLOC_ARENA_MAX`` in the environment, if set, wins.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        pass


def cmd_serve(args: argparse.Namespace) -> int:
    _limit_malloc_arenas()
    from .answering.model import current_model
    from .web import serve

    current_model()  # a missing or stale answer model stops the server here, not at the first question
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: other machines can reach the chat", file=sys.stderr)
    serve(args.host, args.port, args.index)
    return 0


# --------------------------------------------------------------------------- admin


def cmd_admin(args: argparse.Namespace) -> int:
    from .console.auth import ConsoleOff, hash_password

    if args.set_password:
        import getpass

        first = getpass.getpass("new console password: ") if sys.stdin.isatty() else sys.stdin.readline()
        first = first.rstrip("\n")
        if len(first) < config.ADMIN_MIN_PASSWORD_CHARS:
            short = f"use at least {config.ADMIN_MIN_PASSWORD_CHARS} characters"
            return _emit_error(args, short, EXIT_BAD_INPUT)
        if sys.stdin.isatty() and getpass.getpass("again: ") != first:
            return _emit_error(args, "the two passwords differ", EXIT_BAD_INPUT)
        path = config.admin_password_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)  # also when the file was there before
        path.write_text(hash_password(first) + "\n", encoding="utf-8")
        print(f"wrote the password's scrypt hash to {path}")
        return 0
    # The audit log (who did what, when) is on whatever -v says.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    audit = logging.getLogger("assistant.console")
    audit.setLevel(logging.INFO)
    audit.addHandler(handler)
    audit.propagate = False
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: console on {args.host}: other machines can reach it (use HTTPS)", file=sys.stderr)
    from .console.app import serve_console

    try:
        serve_console(args.host, args.port)
    except ConsoleOff as exc:
        return _emit_error(args, str(exc), EXIT_BAD_INPUT)
    return 0


# ------------------------------------------------------------------------ feedback


def cmd_feedback(args: argparse.Namespace) -> int:
    from .feedback import FeedbackStore

    store = FeedbackStore()
    if args.export:
        rows = store.export_csv(args.export)
        print(f"wrote {rows} rows (votes and unanswered questions) to {args.export}")
        return 0
    s = store.summary()
    print(f"{store.path}: {s.up} 👍, {s.down} 👎, {s.unanswered} unanswered questions")
    for u in store.unanswered()[-args.recent :] if args.recent else []:
        print(f"  {u['time']}  {printable(u['question'])}")
    return 0


# ---------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="青岛数字问答 — answers about 数字青岛, quoted from the sources."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_index(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--index", help="index folder (default: $ASSISTANT_INDEX or ./index)")
        return p

    p = with_index(sub.add_parser("reindex", help="build the index from the corpus folder"))
    p.add_argument("--corpus", help="corpus folder (default: $ASSISTANT_CORPUS or ./corpus)")
    p.add_argument("--model", help="sentence-transformers model name or path (default: bundled)")
    p.add_argument("--strict", action="store_true", help="fail if any file would be skipped")
    p.add_argument("--check", action="store_true", help="exit 1 if the index is stale; build nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reindex)

    p = with_index(sub.add_parser("search", help="show the passages that best match a query"))
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_search)

    p = with_index(sub.add_parser("ask", help="answer a question, quoting the sources"))
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p.set_defaults(func=cmd_ask)

    p = with_index(sub.add_parser("eval", help="measure answer quality over a question file"))
    p.add_argument(
        "file",
        help='JSONL lines {"question": ..., "answers": [substrings] ([] = refuse), '
        '"history": [earlier questions] (optional), "type": ... (optional)}',
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--min-accuracy", type=float, help="exit 1 if answer accuracy is below this")
    p.add_argument("--min-refusal", type=float, help="exit 1 if refusal recall is below this")
    p.set_defaults(func=cmd_eval)

    p = with_index(sub.add_parser("stats", help="documents, chunks, model and size of the index"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = with_index(sub.add_parser("serve", help="start the web chat (Gradio) in the browser"))
    p.add_argument("--host", default=config.WEB_HOST, help=f"address to bind (default {config.WEB_HOST})")
    p.add_argument("--port", type=int, default=config.WEB_PORT, help=f"port (default {config.WEB_PORT})")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("admin", help="start the staff console in the browser (needs a password)")
    p.add_argument("--host", default=config.WEB_HOST, help=f"address to bind (default {config.WEB_HOST})")
    p.add_argument("--port", type=int, default=config.ADMIN_PORT, help=f"port (default {config.ADMIN_PORT})")
    p.add_argument(
        "--set-password", action="store_true", help="store a hash of a new console password and exit"
    )
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser("feedback", help="votes and unanswered questions from the chat ($ASSISTANT_DATA)")
    p.add_argument("--export", metavar="FILE.csv", help="write votes and unanswered questions as CSV")
    p.add_argument("--recent", type=int, default=10, help="list this many recent unanswered questions")
    p.set_defaults(func=cmd_feedback)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    from .answering.model import ModelError
    from .corpus import CorpusError
    from .index import IndexError_
    from .retrieval import QuestionError

    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below, not at exit
        return code
    except BrokenPipeError:  # `assistant stats | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return EXIT_BROKEN_PIPE
    except QuestionError as exc:
        return _emit_error(args, str(exc), EXIT_BAD_INPUT)
    except IndexError_ as exc:
        return _emit_error(args, str(exc), EXIT_INDEX)
    except ModelError as exc:
        return _emit_error(args, str(exc), EXIT_MODEL)
    except CorpusError as exc:  # no corpus folder, a bad catalogue.toml: nothing was built
        return _emit_error(args, printable(str(exc)), EXIT_CORPUS)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
