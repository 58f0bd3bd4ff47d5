"""A reindex started from the staff console while residents query the chat, on loopback only.

    python benchmarks/admin_load.py                      # 4 clients x 30 s, ~30,000-chunk rebuild
    python benchmarks/admin_load.py --chunks 3000 --duration 10   # a quick look
    python benchmarks/admin_load.py --preview 200   # the preview's time, with and without the cache

Starts ``assistant serve`` and ``assistant admin`` on free 127.0.0.1 ports over one
temporary corpus, index and data folder. The index starts from the seed article alone;
then synthetic documents (benchmarks/run.py's generator) are added to the corpus, the
script logs in to the console as a staff member would (login form, CSRF token, session
cookie), presses "开始重建", and while that build runs, ``--clients`` residents ask
the chat questions back to back (benchmarks/load.py's client, no think time) for
``--duration`` seconds. Reported: requests served, errors, latency p50/p95/max, the
build's duration and figures from the console's status, and whether the chat switched to
the new version. Target (issue 16): zero errors.

``--preview N`` instead times one preview (in process) over the seed article plus N
synthetic documents, once starting from a copy of the live index's cache and once from
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import (  # noqa: E402
    QUESTIONS,
    ask,
    assistant_command,
    describe,
    format_rows,
    free_port,
    run_phase,
    start_server,
    stop_server,
    wait_for_server,
)

PASSWORD = "load-test-password"


def start_console(
    corpus: Path, index: Path, data: Path, log: Path, password: str | None, timeout: float = 90.0
) -> tuple[subprocess.Popen, str]:
    """``assistant admin`` on a free loopback port over these folders; returns once it answers.

    ``password=None`` starts it with no password configured (it must then refuse to run).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_ADMIN_PASSWORD"}
    env |= {
        "ASSISTANT_CORPUS": str(corpus),
        "ASSISTANT_INDEX": str(index),
        "ASSISTANT_DATA": str(data),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if password is not None:
        env["ASSISTANT_ADMIN_PASSWORD"] = password
    cmd = assistant_command() + ["admin", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(proc, url + "login", log, timeout)
    except RuntimeError:
        stop_server(proc)
        raise
    return proc, url


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def console_login(client, url: str, password: str, name: str = "压测") -> None:
    """Log an httpx client in through the login form (cookie kept by the client)."""
    token = csrf_token(client.get(url + "login").text)
    r = client.post(url + "login", data={"csrf": token, "name": name, "password": password})
    if r.status_code != 303:
        raise RuntimeError(f"login failed: HTTP {r.status_code}")


def preview_timing(documents: int) -> None:
    from assistant.console.documents import preview, stage_upload
    from assistant.feedback import FeedbackStore
    from assistant.index import build_index
    from benchmarks.run import make_corpus

    with tempfile.TemporaryDirectory(prefix="qa-preview-") as tmp:
        root = Path(tmp)
        os.environ["ASSISTANT_DATA"] = str(root / "data")  # the console's pending folder
        make_corpus(root / "corpus", documents=documents)
        shutil.copy(ROOT / "corpus" / "000_digital-qingdao.md", root / "corpus")
        t = time.perf_counter()
        report = build_index(root / "corpus", root / "index")
        took = time.perf_counter() - t
        print(f"live index: {report.documents} documents, {report.chunks} chunks, built in {took:.1f} s")
        store = FeedbackStore(root / "data" / "feedback.sqlite3")
        store.log_unanswered({"question": "崂山茶园部署了多少套土壤墒情传感器？", "missing_terms": ["崂山"]})
        store.flush()
        text = "# 崂山茶园\n\n崂山区茶园物联网项目在茶园部署土壤墒情传感器860套。\n"
        stage_upload("tea.txt", text.encode("gbk"), False, root / "corpus")
        for label, index in (
            ("from the live index's cache", root / "index"),
            ("from nothing", root / "none"),
        ):
            t = time.perf_counter()
            p = preview("tea.txt", True, root / "corpus", index, store)
            took = time.perf_counter() - t
            print(f"preview {label}: {took:.1f} s ({len(p.answered)} refused question(s) answered)")


def main(argv: list[str] | None = None) -> int:
    import httpx

    from benchmarks.run import make_corpus

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=4, help="residents asking back to back")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of querying (max 300)")
    p.add_argument("--chunks", type=int, default=30000, help="about this many chunks to rebuild")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--preview", type=int, metavar="N", help="time a preview over N synthetic documents")
    args = p.parse_args(argv)
    if args.preview:
        preview_timing(args.preview)
        return 0
    args.duration = min(max(args.duration, 1.0), 300.0)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line]
    print(f"machine: {os.cpu_count()} CPUs; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')}")

    with tempfile.TemporaryDirectory(prefix="qa-admin-load-") as tmp:
        root = Path(tmp)
        corpus, index, data = root / "corpus", root / "index", root / "data"
        shutil.copytree(ROOT / "corpus", corpus)
        subprocess.run(
            assistant_command() + ["reindex", "-q", "--corpus", str(corpus), "--index", str(index)],
            check=True,
            cwd=ROOT,
        )
        made = make_corpus(root / "synthetic", chunks=args.chunks)
        for f in (root / "synthetic").glob("syn_*.md"):
            shutil.move(f, corpus / f.name)
        print(f"corpus: seed article indexed; {made['documents'] - 1} synthetic documents added, not indexed")
        chat, chat_url = start_server(index, data, root / "serve.log")
        console, console_url = start_console(corpus, index, data, root / "admin.log", PASSWORD)
        try:
            version_before = (index / "CURRENT").read_text().strip()
            before = asyncio.run(_cited_synthetic(chat_url, questions))
            with httpx.Client(trust_env=False, timeout=30) as client:
                console_login(client, console_url, PASSWORD)
                token = csrf_token(client.get(console_url + "reindex").text)
                t0 = time.perf_counter()
                r = client.post(console_url + "reindex", data={"csrf": token})
                if r.status_code != 303:
                    raise RuntimeError(f"reindex did not start: HTTP {r.status_code}")
                print(f"reindex started from the console; {args.clients} clients for {args.duration:.0f} s …")
                phase = asyncio.run(
                    run_phase(
                        "reindex", chat_url, questions, args.clients, args.duration, False, chat.pid, 16
                    )
                )
                build_s, status = None, {}
                while time.perf_counter() - t0 < 600:
                    status = client.get(console_url + "reindex/status").json()
                    if status["status"] != "running":
                        build_s = time.perf_counter() - t0
                        break
                    time.sleep(0.5)
                page = client.get(console_url + "reindex").text
            time.sleep(2)  # the chat checks for a new version once a second
            version_after = (index / "CURRENT").read_text().strip()
            after = asyncio.run(_cited_synthetic(chat_url, questions))
        finally:
            stop_server(console)
            stop_server(chat)
        figures = re.sub(r"<[^>]+>", " ", page.split('id="reindex-figures"')[-1].split("</dl>")[0])
    row = describe(phase, args.clients, False)
    print()
    print(format_rows([row]))
    print()
    print(f"build: {status.get('status')} after {build_s or float('nan'):.1f} s (polled every 0.5 s)")
    print("console figures:", " ".join(figures.split()))
    print(f"live index: {version_before} -> {version_after}")
    print(f"chat answers citing synthetic documents (of 10 questions): before {before}, after {after}")
    switched = before == 0 and after > 0
    ok = row["errors"] == 0 and status.get("status") == "done" and switched
    print(
        f"[{'met' if ok else 'MISSED'}] errors {row['errors']} (0); build {status.get('status')}; "
        f"chat switched: {switched}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"row": row, "build_s": build_s, "status": status}, indent=1))
    return 0 if ok else 1


async def _cited_synthetic(base: str, questions: list[str]) -> int:
    """How many of the first 10 questions the chat answers from a synthetic document (0 before the build)."""
    import httpx

    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        answers = [await ask(client, base, q, None) for q in questions[:10]]
    return sum(any(c["doc_id"].startswith("syn_") for c in a["citations"]) for a in answers)


if __name__ == "__main__":
    sys.exit(main())
