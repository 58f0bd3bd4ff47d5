"""Make the README screenshots: the chat answering a question, its citation opened from the [1].

    python -m tests.screenshot docs/chat-1366.png [--width 1366] [--height 900] [--question ...]
    python -m tests.screenshot docs/chat-390.png --width 390 --height 844

Starts ``assistant serve`` over the committed index with a throwaway data folder (so
the screenshot leaves no votes or logged questions behind), drives Debian's chromium
like the browser tests do, with an English browser locale (the page is Chinese whatever the
browser says), and writes the PNG.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from assistant import config
from tests.test_web import CHROMIUM, CHROMIUM_ARGS, ask_in_page, start_server, stop_server

DEFAULT_QUESTION = "青岛行政村5G覆盖率是多少？"


def take(out: Path, width: int, height: int, question: str) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        server = start_server(config.index_dir(), root / "data", root / "netlog.txt", root / "server.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": width, "height": height}, locale="en-US")
                page.goto(server.url)
                page.wait_for_selector("#qa-input textarea")
                ask_in_page(page, question, 1)
                page.locator("#qa-chat .qa-quote a.qa-ref").first.click()
                page.locator("#qa-chat .qa-cite mark").first.wait_for(state="visible")
                # The answer's first line (the short answer) at the top of the chat, not the citation.
                page.locator("#qa-chat .qa-a").last.evaluate("e => e.scrollIntoView({block: 'start'})")
                page.mouse.move(0, 0)  # no hover highlight in the picture
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                browser.close()
        finally:
            stop_server(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG to write, e.g. docs/chat-1366.png")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--question", default=DEFAULT_QUESTION)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"error: {CHROMIUM} is missing; install Debian's chromium (make browser)", file=sys.stderr)
        return 1
    take(args.out, args.width, args.height, args.question)
    print(f"wrote {args.out} ({args.width}px wide)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
