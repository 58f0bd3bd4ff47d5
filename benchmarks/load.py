"""Load test of a live ``assistant serve`` through its ``ask`` API, on loopback only.

    python benchmarks/load.py                       # 50 residents x 60 s, then 25 s saturation
    python benchmarks/load.py --residents 20 --duration 10 --saturation 5   # a quick look
    python benchmarks/load.py --compare             # POST /api/ask against Gradio's route, side by side

The script starts ``assistant serve`` on a free 127.0.0.1 port over a copy of the project's
index (feedback database in a temporary folder), waits for it, and stops it at the end.
One asyncio process generates all the traffic with httpx over Gradio's REST protocol:
``POST /gradio_api/call/ask`` returns an event id, ``GET /gradio_api/call/ask/<id>`` streams
the result (``event: complete`` or ``event: error``). gradio_client is not used: it costs more
CPU than the server (see ../shared/notes/gradio-load.md).

Phases, each bounded in time and stopping by itself:

1. warm-up: 20 sequential questions (lazy first-use costs), then the server's RSS "before";
2. closed loop: ``--residents`` concurrent residents, each asks, waits for the answer, thinks
   1–3 s (uniform, seeded), asks again, for ``--duration`` seconds; a quarter of the questions
   carry the resident's previous exchange as history (a follow-up);
3. saturation: the same residents without think time for ``--saturation`` seconds.

``--dos`` measures something else (issue 13): while two clients keep sending 3 MB-history
requests to the ``ask`` API (one with a Content-Length, one chunked), how long a normal
question takes through each HTTP route: the API (``/gradio_api/call/ask``), the chat page's
queue (``/gradio_api/queue/join``) and ``POST /api/ask`` where the server has it. Goal: < 1 s.
An attack refused with 413 while its client is still sending may show as ``ReadError`` (the
server closed the connection); a huge request that got through shows as ``answered``.

    python benchmarks/load.py --dos [--probes 10]

Reported per phase: requests served, errors (HTTP status, error event, time-out, transport),
requests/s, latency p50/p95/max (POST sent to ``complete`` received), the generator's CPU use
(this process, user+system, as a share of one core) and the server's; then the server's RSS
before and after. Targets (issue 8): zero errors, p95 <= 1 s in the closed loop, RSS growth
<= 10 %.

``--compare`` (issue 15) measures the plain REST route ``POST /api/ask`` against Gradio's
two-step route on the same server, in one run: each phase's client runs in a process of its
own (so its CPU is its own, and reported beside the server's). Phases: both routes saturated
by ``--clients`` closed-loop clients without think time (answers/s, p95), in alternating
rounds so that both meet the same machine, then ``--residents``
residents with 1-3 s think time through ``/api/ask``. Targets: ``/api/ask`` saturated answers/s
>= 2x Gradio's; residents 0 errors and p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ROOT / "eval" / "questions.jsonl"
REQUEST_TIMEOUT = 30.0  # seconds; a request slower than this counts as an error


# ------------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assistant_command() -> list[str]:
    exe = Path(sys.executable).with_name("assistant")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "assistant.cli"]


def wait_for_server(proc: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    """Return once ``url`` answers 200; raise with the log's tail if ``proc`` exits or time
    runs out (the process is then left to the caller). The browser tests use it too."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"assistant serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"assistant serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def start_server(index: Path, data: Path, log: Path, timeout: float = 120.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(
        os.environ,
        ASSISTANT_DATA=str(data),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    cmd = assistant_command() + ["serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index)]
    out = log.open("w")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(proc, url, log, timeout)
    except RuntimeError:
        stop_server(proc)
        raise
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class _Existing:
    """A server this script did not start (``--url``): measured, never stopped."""

    def __init__(self, pid: int):
        self.pid = pid


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


# ------------------------------------------------------------------------------ client


@dataclass
class PhaseResult:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0
    generator_cpu: float = 0.0
    server_cpu: float = 0.0
    rss: list[tuple[float, int]] = field(default_factory=list)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def ask(client, base: str, question: str, history: list | None) -> dict:
    """One question through Gradio's REST protocol; raises on any failure."""
    r = await client.post(f"{base}gradio_api/call/ask", json={"data": [question, history]})
    if r.status_code != 200:
        raise AskError(f"http {r.status_code}")
    return await ask_result(client, base, r.json()["event_id"])


async def ask_result(client, base: str, event_id: str) -> dict:
    """The result of an ``ask`` call, read from its event stream; raises on any failure."""
    event = None
    async with client.stream("GET", f"{base}gradio_api/call/ask/{event_id}") as stream:
        if stream.status_code != 200:
            raise AskError(f"http {stream.status_code}")
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise AskError("error event")
                payload = json.loads(line[5:])
                result = payload[0] if isinstance(payload, list) and payload else None
                if not isinstance(result, dict) or "text" not in result:
                    raise AskError("malformed result")
                return result
    raise AskError("stream ended without a result")


class AskError(Exception):
    pass


async def ask_rest(client, base: str, question: str, history: list | None = None) -> dict:
    """One question through ``POST /api/ask``: one request, one JSON answer."""
    r = await client.post(f"{base}api/ask", json={"question": question, "history": history})
    if r.status_code != 200:
        raise AskError(f"http {r.status_code}")
    result = r.json()
    if not isinstance(result, dict) or "text" not in result:
        raise AskError("malformed result")
    return result


#: The routes ``--compare`` drives, by name.
ROUTES = {"gradio": ask, "api": ask_rest}


async def resident(
    i: int,
    client,
    base: str,
    questions: list[str],
    deadline: float,
    think: bool,
    result: PhaseResult,
    seed: int,
    route=ask,
) -> None:
    rng = random.Random(seed * 1000 + i)
    previous: tuple[str, str] | None = None
    if think:  # residents arrive spread over the first think time, not all at once
        await asyncio.sleep(rng.uniform(0, 2))
    while time.monotonic() < deadline:
        question = rng.choice(questions)
        history = [[previous[0], previous[1]]] if previous and rng.random() < 0.25 else None
        t = time.perf_counter()
        try:
            answer = await asyncio.wait_for(route(client, base, question, history), REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            result.error("timeout")
        except AskError as exc:
            result.error(str(exc))
        except Exception as exc:  # transport errors: connection refused/reset, …
            result.error(type(exc).__name__)
        else:
            result.latencies.append(time.perf_counter() - t)
            previous = (question, answer["text"])
        if think:
            pause = rng.uniform(1.0, 3.0)
            await asyncio.sleep(max(0.0, min(pause, deadline - time.monotonic())))


async def run_phase(
    name: str,
    base: str,
    questions: list[str],
    residents: int,
    seconds: float,
    think: bool,
    server_pid: int,
    seed: int,
    route=ask,
) -> PhaseResult:
    import httpx

    result = PhaseResult(name)
    # Idle connections are dropped after 2 s, before the server's 5 s keep-alive ends: reusing one
    # the server is closing at that moment fails the request with a ReadError (seen once in 1,466).
    limits = httpx.Limits(
        max_connections=residents * 2 + 10, max_keepalive_connections=residents * 2 + 10, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT, trust_env=False) as client:
        cpu0, scpu0, t0 = own_cpu_seconds(), cpu_seconds(server_pid), time.perf_counter()
        deadline = time.monotonic() + seconds
        tasks = [
            resident(i, client, base, questions, deadline, think, result, seed, route)
            for i in range(residents)
        ]

        async def sample_rss() -> None:
            while time.monotonic() < deadline:
                result.rss.append((round(time.perf_counter() - t0, 1), rss_bytes(server_pid)))
                await asyncio.sleep(5)

        sampler = asyncio.ensure_future(sample_rss())
        # Hard bound: the phase plus one request time-out, whatever happens.
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + REQUEST_TIMEOUT + 5)
        sampler.cancel()
        result.wall = time.perf_counter() - t0
        result.generator_cpu = own_cpu_seconds() - cpu0
        result.server_cpu = cpu_seconds(server_pid) - scpu0
    return result


async def warm_up(base: str, questions: list[str], n: int = 20, route=ask) -> int:
    import httpx

    errors = 0
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False) as client:
        for q in questions[:n]:
            try:
                await route(client, base, q, None)
            except Exception:
                errors += 1
    return errors


# ------------------------------------------------------------------------------ report


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[min(rank, len(ordered)) - 1]


def describe(r: PhaseResult, residents: int, think: bool) -> dict:
    served = len(r.latencies)
    return {
        "phase": r.name,
        "residents": residents,
        "think_time": "1-3 s" if think else "none",
        "seconds": round(r.wall, 1),
        "served": served,
        "errors": sum(r.errors.values()),
        "error_kinds": r.errors,
        "rps": served / r.wall if r.wall else 0.0,
        "p50_ms": 1000 * percentile(r.latencies, 50),
        "p95_ms": 1000 * percentile(r.latencies, 95),
        "max_ms": 1000 * max(r.latencies) if r.latencies else float("nan"),
        "generator_cpu_pct": 100 * r.generator_cpu / r.wall if r.wall else 0.0,
        "server_cpu_pct": 100 * r.server_cpu / r.wall if r.wall else 0.0,
        "rss_mb_every_5s": [round(b / 1e6, 1) for _, b in r.rss],
    }


def format_rows(rows: list[dict]) -> str:
    lines = [
        "| phase | residents | think | s | served | errors | req/s | p50 ms | p95 ms | max ms "
        "| generator CPU | server CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['phase']} | {r['residents']} | {r['think_time']} | {r['seconds']:.1f} | {r['served']:,} "
            f"| {r['errors']}{' ' + json.dumps(r['error_kinds']) if r['errors'] else ''} | {r['rps']:.1f} "
            f"| {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} "
            f"| {r['generator_cpu_pct']:.0f} % | {r['server_cpu_pct']:.0f} % |"
        )
    return "\n".join(lines)


def closed_loop_and_saturation(args, base: str, server_pid: int, questions: list[str]):
    """Issue 8's phases through Gradio's route: residents with think time, then without."""
    rows, rss = [], {}
    print(f"closed loop: {args.residents} residents, think 1-3 s, {args.duration:.0f} s …", flush=True)
    r = asyncio.run(
        run_phase("closed loop", base, questions, args.residents, args.duration, True, server_pid, args.seed)
    )
    rows.append(describe(r, args.residents, True))
    rss["after closed loop"] = rss_bytes(server_pid)
    if args.saturation:
        print(f"saturation: {args.residents} residents, no think time, {args.saturation:.0f} s …", flush=True)
        r = asyncio.run(
            run_phase(
                "saturation",
                base,
                questions,
                args.residents,
                args.saturation,
                False,
                server_pid,
                args.seed + 1,
            )
        )
        rows.append(describe(r, args.residents, False))
    rss["after all phases"] = rss_bytes(server_pid)
    closed = rows[0]
    checks = [
        (sum(r["errors"] for r in rows) == 0, f"errors: {sum(r['errors'] for r in rows)} (0)"),
        (closed["p95_ms"] <= 1000, f"closed-loop p95: {closed['p95_ms']:.0f} ms (<= 1000 ms)"),
    ]
    return rows, checks, rss


# ----------------------------------------------------------------------------- compare


def _phase_child(conn, route: str, *args) -> None:
    conn.send(asyncio.run(run_phase(*args, route=ROUTES[route])))
    conn.close()


def phase_in_own_process(
    route: str,
    name: str,
    base: str,
    questions: list[str],
    clients: int,
    seconds: float,
    think: bool,
    server_pid: int,
    seed: int,
) -> PhaseResult:
    """``run_phase`` in a fresh process: its generator CPU is then the client's alone."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_phase_child,
        args=(sender, route, name, base, questions, clients, seconds, think, server_pid, seed),
    )
    child.start()
    sender.close()
    try:
        return receiver.recv()
    finally:
        child.join(timeout=30)


#: ``--compare`` alternates the two routes in this many rounds, so that a change in what the
#: shared machine leaves to the server falls on both routes alike.
ROUNDS = 5


def merged(name: str, parts: list[PhaseResult]) -> PhaseResult:
    """The rounds of one route as one phase: their answers, errors, time and CPU added up."""
    whole = PhaseResult(name)
    for part in parts:
        whole.latencies += part.latencies
        for kind, n in part.errors.items():
            whole.errors[kind] = whole.errors.get(kind, 0) + n
        whole.wall += part.wall
        whole.generator_cpu += part.generator_cpu
        whole.server_cpu += part.server_cpu
        whole.rss += part.rss
    return whole


def compare(args, base: str, server_pid: int, questions: list[str]):
    """Both routes saturated, in alternating rounds, then the residents through ``/api/ask``."""
    rows = []
    print(
        f"saturation: {args.clients} clients, no think time, {args.saturation:.0f} s per route "
        f"in {ROUNDS} alternating rounds …",
        flush=True,
    )
    rounds: dict[str, list[PhaseResult]] = {"gradio": [], "api": []}
    for i in range(ROUNDS):
        for route in rounds:
            rounds[route].append(
                phase_in_own_process(
                    route,
                    f"saturated, {route}",
                    base,
                    questions,
                    args.clients,
                    args.saturation / ROUNDS,
                    False,
                    server_pid,
                    args.seed + 1 + i,
                )
            )
    for route, parts in rounds.items():
        rows.append(describe(merged(f"saturated, {route}", parts), args.clients, False))
    print(f"residents through api: {args.residents}, think 1-3 s, {args.duration:.0f} s …", flush=True)
    r = phase_in_own_process(
        "api", "residents, api", base, questions, args.residents, args.duration, True, server_pid, args.seed
    )
    rows.append(describe(r, args.residents, True))
    rss = {"after all phases": rss_bytes(server_pid)}
    gradio, api, residents = rows
    ratio = api["rps"] / gradio["rps"] if gradio["rps"] else float("inf")
    for r in (gradio, api):
        cpu_s = r["server_cpu_pct"] / 100 * r["seconds"]
        print(f"{r['phase']}: {1000 * cpu_s / max(r['served'], 1):.1f} ms of server CPU per answer")
    checks = [
        (
            ratio >= 2,
            f"/api/ask saturated: {api['rps']:.0f} answers/s, {ratio:.1f}x Gradio's "
            f"{gradio['rps']:.0f} (>= 2x)",
        ),
        (sum(r["errors"] for r in rows) == 0, f"errors: {sum(r['errors'] for r in rows)} (0)"),
        (
            residents["p95_ms"] <= 100,
            f"residents through /api/ask p95: {residents['p95_ms']:.0f} ms (<= 100 ms)",
        ),
    ]
    return rows, checks, rss
# ------------------------------------------------------------------------------ --dos

DOS_QUESTION = "行政村5G覆盖率是多少？"
#: A follow-up, so that answering reads the history (its previous question joins the search).
DOS_FOLLOW_UP = "那它的时延呢？"


def dos_body(megabytes: float) -> bytes:
    """A follow-up ``ask`` whose history holds one exchange of ``megabytes`` MB of UTF-8 text."""
    half = "行政村5G覆盖率是多少？" * int(megabytes * 1e6 / 2 / 31)  # 31 bytes of UTF-8 each
    return json.dumps({"data": [DOS_FOLLOW_UP, [[half, half]]]}, ensure_ascii=False).encode()


async def dos_attacker(client, base: str, body: bytes, chunked: bool, stop: asyncio.Event, log: list) -> None:
    """Send the big request again and again until ``stop``; note each outcome and its time."""

    async def pieces():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    while not stop.is_set():
        t = time.perf_counter()
        try:
            r = await client.post(
                f"{base}gradio_api/call/ask",
                content=pieces() if chunked else body,
                headers={"content-type": "application/json"},
            )
            outcome = f"http {r.status_code}"
            if r.status_code == 200:  # accepted: wait for the answer, as a client would
                await ask_result(client, base, r.json()["event_id"])
                outcome = "answered"
        except Exception as exc:  # the server may close the connection while we still send
            outcome = str(exc) if isinstance(exc, AskError) else type(exc).__name__
        log.append((outcome, time.perf_counter() - t))


async def ask_page(client, base: str, question: str) -> dict:
    """One question the way the chat page sends it: join the queue, read the session's events."""
    import uuid

    session = uuid.uuid4().hex[:12]
    join = {"data": [question, None], "fn_index": 0, "trigger_id": None, "session_hash": session}
    r = await client.post(f"{base}gradio_api/queue/join", json=join)
    if r.status_code != 200:
        raise AskError(f"http {r.status_code}")
    async with client.stream("GET", f"{base}gradio_api/queue/data?session_hash={session}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise AskError("error event")
                    return message["output"]
    raise AskError("stream ended without a result")


async def dos_run(base: str, megabytes: float, probes: int) -> dict:
    """Latency of normal questions through each route while two big requests stay in flight."""
    import httpx

    body = dos_body(megabytes)
    routes = {
        "API /gradio_api/call/ask": lambda c: ask(c, base, DOS_QUESTION, None),
        "page /gradio_api/queue/join": lambda c: ask_page(c, base, DOS_QUESTION),
        "REST /api/ask": lambda c: ask_rest(c, base, DOS_QUESTION),
    }
    results: dict = {"body_bytes": len(body), "routes": {}, "attacks": {}}
    timeout = httpx.Timeout(REQUEST_TIMEOUT * 4)
    async with (
        httpx.AsyncClient(timeout=timeout, trust_env=False) as attack_client,
        httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False) as client,
    ):
        stop = asyncio.Event()
        logs: dict[str, list] = {"Content-Length": [], "chunked": []}
        attackers = [
            asyncio.ensure_future(dos_attacker(attack_client, base, body, name == "chunked", stop, log))
            for name, log in logs.items()
        ]
        await asyncio.sleep(0.5)  # both attacks under way
        for name, call in routes.items():
            latencies, errors = [], {}
            for _ in range(probes):
                t = time.perf_counter()
                try:
                    await asyncio.wait_for(call(client), REQUEST_TIMEOUT)
                    latencies.append(time.perf_counter() - t)
                except Exception as exc:
                    kind = str(exc) if isinstance(exc, AskError) else type(exc).__name__
                    errors[kind] = errors.get(kind, 0) + 1
                await asyncio.sleep(0.1)
            results["routes"][name] = {"latencies": latencies, "errors": errors}
        stop.set()
        await asyncio.wait_for(asyncio.gather(*attackers), REQUEST_TIMEOUT * 4 + 5)
    for name, log in logs.items():
        outcomes: dict[str, int] = {}
        for outcome, _ in log:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        results["attacks"][name] = {"outcomes": outcomes, "seconds": [s for _, s in log]}
    return results


def dos_main(args: argparse.Namespace) -> int:
    """``--dos``: start (or use) a server, attack it, print the table and the verdict."""
    with tempfile.TemporaryDirectory(prefix="qa-dos-") as tmp:
        tmp_path = Path(tmp)
        index = tmp_path / "index"
        shutil.copytree(args.index, index, ignore=shutil.ignore_patterns(".lock"))
        if args.url:
            proc, base = _Existing(args.pid), args.url
        else:
            proc, base = start_server(index, tmp_path / "data", tmp_path / "serve.log")
        try:
            asyncio.run(warm_up(base, [DOS_QUESTION] * 5))
            rss_before = rss_bytes(proc.pid)
            r = asyncio.run(dos_run(base, args.attack_mb, args.probes))
            rss_after = rss_bytes(proc.pid)
        finally:
            if not args.url:
                stop_server(proc)
    print(
        f"two clients keep sending {r['body_bytes'] / 1e6:.1f} MB follow-ups to ask (one exchange of history)"
    )
    for name, a in r["attacks"].items():
        secs = a["seconds"]
        print(
            f"  {name:>14}: {len(secs)} sent, outcomes {a['outcomes']}, each took "
            f"p50 {1000 * percentile(secs, 50):.0f} ms, max {1000 * max(secs, default=float('nan')):.0f} ms"
        )
    print("\n| route | questions | errors | p50 ms | max ms |\n|---|---|---|---|---|")
    checks = []
    for name, route in r["routes"].items():
        lat, errors = route["latencies"], route["errors"]
        if not lat and set(errors) <= {"http 404", "http 405"}:
            print(f"| {name} | – | not on this server | – | – |")
            continue
        print(
            f"| {name} | {len(lat)} | {sum(errors.values())}{' ' + json.dumps(errors) if errors else ''} "
            f"| {1000 * percentile(lat, 50):.0f} | {1000 * max(lat, default=float('nan')):.0f} |"
        )
        checks.append(
            (not errors and lat and max(lat) < 1.0, f"{name}: max {1000 * max(lat, default=0):.0f} ms")
        )
    print(f"\nserver RSS {rss_before / 1e6:.0f} MB before the attack, {rss_after / 1e6:.0f} MB after")
    for ok, text in checks:
        print(f"[{'met' if ok else 'MISSED'}] {text} (< 1000 ms, no errors)")
    return 0 if all(ok for ok, _ in checks) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--residents", type=int, default=50, help="concurrent closed-loop residents")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of the think-time phase (max 600)")
    p.add_argument(
        "--saturation", type=float, default=25.0, help="seconds of the no-think phase (0: skip; max 120)"
    )
    p.add_argument("--index", default=str(ROOT / "index"), help="index to serve (copied first)")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--url", help="drive an already running server on loopback instead (needs --pid)")
    p.add_argument("--pid", type=int, help="process id of the --url server (for RSS and CPU)")
    p.add_argument("--compare", action="store_true", help="POST /api/ask against Gradio's route (issue 15)")
    p.add_argument("--clients", type=int, default=16, help="--compare: closed-loop clients when saturating")
    p.add_argument(
        "--dos", action="store_true", help="normal questions while two huge requests are in flight"
    )
    p.add_argument("--attack-mb", type=float, default=3.0, help="--dos: size of each huge request (MB)")
    p.add_argument("--probes", type=int, default=10, help="--dos: normal questions per route")
    args = p.parse_args(argv)
    if args.url and (
        not args.pid or not re.match(r"http://(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+/$", args.url)
    ):
        p.error("--url must be http://127.x.x.x:PORT/ (loopback only, trailing slash) and needs --pid")
    args.duration = min(max(args.duration, 1.0), 600.0)
    args.saturation = min(max(args.saturation, 0.0), 120.0)
    args.residents = min(max(args.residents, 1), 500)
    if args.dos:
        args.attack_mb = min(max(args.attack_mb, 0.1), 50.0)
        args.probes = min(max(args.probes, 1), 100)
        return dos_main(args)

    from assistant import config

    questions = [
        json.loads(line)["question"]
        for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    queue = (
        "the --url server's own"
        if args.url
        else f"default_concurrency_limit={config.WEB_CONCURRENCY}, max_size={config.WEB_QUEUE_SIZE}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run "
        f"(shared: other processes count too); "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}; Gradio queue: {queue}; "
        f"/api/ask: {config.API_CONCURRENCY} at once, {config.API_QUEUE_SIZE} waiting; "
        f"{len(questions)} questions",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        tmp_path = Path(tmp)
        index = tmp_path / "index"
        shutil.copytree(args.index, index, ignore=shutil.ignore_patterns(".lock"))
        log = tmp_path / "serve.log"
        t = time.perf_counter()
        if args.url:
            proc, base = _Existing(args.pid), args.url
        else:
            proc, base = start_server(index, tmp_path / "data", log)
        try:
            startup_s = time.perf_counter() - t
            rss_start = rss_bytes(proc.pid)
            warm_errors = asyncio.run(warm_up(base, questions))
            if args.compare:
                warm_errors += asyncio.run(warm_up(base, questions, route=ask_rest))
            rss_before = rss_bytes(proc.pid)
            print(
                f"server {base} up in {startup_s:.1f} s (pid {proc.pid}); RSS at start "
                f"{rss_start / 1e6:.1f} MB, after 20 warm-up questions {rss_before / 1e6:.1f} MB "
                f"(warm-up errors: {warm_errors})",
                flush=True,
            )
            phases = compare if args.compare else closed_loop_and_saturation
            rows, checks, rss = phases(args, base, proc.pid, questions)
        finally:
            if not args.url:
                stop_server(proc)
    print()
    print(format_rows(rows))
    print()
    for r in rows:
        print(f"server RSS MB every 5 s, {r['phase']}: {r['rss_mb_every_5s']}")
    rss_after = rss["after all phases"]
    growth = 100 * (rss_after - rss_before) / rss_before if rss_before else float("nan")
    print(
        f"server RSS: before {rss_before / 1e6:.1f} MB (after warm-up), "
        + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in rss.items())
        + f": growth {growth:+.1f} %"
    )
    if not args.compare:  # issue 8's target, for Gradio's route; --compare reports RSS only
        checks.append((growth <= 10, f"RSS growth: {growth:+.1f} % (<= 10 %)"))
    for ok, text in checks:
        print(f"[{'met' if ok else 'MISSED'}] {text}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rows": rows,
                    "rss_start": rss_start,
                    "rss_before": rss_before,
                    "rss_after": rss_after,
                    "rss": rss,
                    "startup_s": startup_s,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
