"""Who may use the console: one shared password, sessions, CSRF tokens, a brake on guessing.

The console has no user accounts: a deployment sets one password, either in the
environment (``ASSISTANT_ADMIN_PASSWORD``) or as a scrypt hash in
``config.admin_password_file()``, so the plain password need not be stored anywhere.
Staff type their name at login; it names them in the log of what they did. Sessions
live in memory (a restart logs everyone out), and every form carries its session's
CSRF token, checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import config

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class ConsoleOff(RuntimeError):
    """No console password is configured: the console must not start."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex), the line ``--set-password`` writes."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def _matches_hash(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest))


@dataclass(frozen=True)
class PasswordCheck:
    """The configured password: plain from the environment, or a hash from a file."""

    plain: str | None = None
    hashed: str | None = None

    @classmethod
    def configured(cls) -> "PasswordCheck":
        """The environment wins over the file; neither means the console is off."""
        if config.admin_password():
            return cls(plain=config.admin_password())
        path = Path(config.admin_password_file())
        if path.is_file() and path.read_text(encoding="utf-8").strip():
            return cls(hashed=path.read_text(encoding="utf-8").strip())
        raise ConsoleOff(
            "the staff console is off: set ASSISTANT_ADMIN_PASSWORD or run "
            f"`assistant admin --set-password` (writes a hash to {path})"
        )

    def __call__(self, password: str) -> bool:
        if self.plain is not None:
            return hmac.compare_digest(password.encode(), self.plain.encode())
        return _matches_hash(password, self.hashed or "")


@dataclass
class Session:
    sid: str
    csrf: str
    created: float
    staff: str | None = None  # None until the password was given
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message), shown once

    def say(self, kind: str, message: str) -> None:
        self.flash.append((kind, message))

    def take_flash(self) -> list[tuple[str, str]]:
        out, self.flash = self.flash, []
        return out


class Sessions:
    """Sessions by cookie value; anonymous ones exist only to carry the login form's CSRF token."""

    MAX_ANONYMOUS = 1000

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self) -> Session:
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time())
        with self._lock:
            self._prune()
            self._by_id[s.sid] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        with self._lock:
            s = self._by_id.get(sid or "")
            if s and time.time() - s.created > config.ADMIN_SESSION_HOURS * 3600:
                del self._by_id[s.sid]
                return None
            return s

    def log_in(self, old: Session, staff: str) -> Session:
        """A fresh session id and token for the logged-in staff member (no session fixation)."""
        self.end(old)
        s = self.new()
        s.staff = staff
        return s

    def end(self, s: Session) -> None:
        with self._lock:
            self._by_id.pop(s.sid, None)

    def _prune(self) -> None:
        anonymous = [s for s in self._by_id.values() if s.staff is None]
        for s in sorted(anonymous, key=lambda s: s.created)[: max(0, len(anonymous) - self.MAX_ANONYMOUS)]:
            del self._by_id[s.sid]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return bool(session and token and hmac.compare_digest(session.csrf.encode(), token.encode()))


class LoginThrottle:
    """After a few failures from one address, each further attempt must wait, twice as long each time.

    The wait is enforced by refusing early attempts (not by sleeping), so guessing
    cannot tie up the server's threads either.
    """

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}  # address -> (failures, next allowed time)
        self._lock = threading.Lock()

    def wait_seconds(self, address: str) -> float:
        with self._lock:
            _, allowed = self._failures.get(address, (0, 0.0))
        return max(0.0, allowed - time.monotonic())

    def failed(self, address: str) -> None:
        with self._lock:
            count, _ = self._failures.get(address, (0, 0.0))
            count += 1
            extra = count - config.ADMIN_FREE_ATTEMPTS
            delay = (
                min(config.ADMIN_LOGIN_DELAY_S * 2 ** (extra - 1), config.ADMIN_LOGIN_DELAY_MAX_S)
                if extra > 0
                else 0.0
            )
            self._failures[address] = (count, time.monotonic() + delay)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
