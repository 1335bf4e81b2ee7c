"""Staff password hashes: Argon2id for new ones, the older werkzeug kinds still checked.

`hall hash-password` makes Argon2id hashes at OWASP's minimum (19 MiB, 2 passes, 1 lane). The
hashes it made before were werkzeug's scrypt (N=2^15, r=8, p=1), below OWASP's scrypt minimum
(N=2^17) and four times slower to check on a hall server (110–140 ms against 25–30 ms on the
bench host, bench/README.md "Socket flood"): a slower check is not a stronger one here, only a
login that waits longer. Hashes in a hall's config stay valid whatever their kind; `hall serve`
names the people whose hash is of an older kind (production.py).

A login for a name nobody has is checked against a hash of the kind most of the hall's people
have (`dummy_like`), so its time does not tell whether the name works here.
"""
from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Iterable
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash, generate_password_hash

TIME_COST, MEMORY_KIB, LANES = 2, 19 * 1024, 1   # OWASP Password Storage Cheat Sheet, Argon2id minimum
_ARGON2_KIND = re.compile(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)")
_ARGON2 = re.compile(_ARGON2_KIND.pattern + r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}")
CURRENT_KIND = f"$argon2id$v=19$m={MEMORY_KIB},t={TIME_COST},p={LANES}"
_WERKZEUG = re.compile(r"(?:scrypt:(\d+):(\d+):(\d+)|pbkdf2:(?:sha256|sha512):(\d+))\$[^$]+\$[0-9a-f]+")


def hash_password(password: str) -> str:
    return _hasher(TIME_COST, MEMORY_KIB, LANES).hash(password)


def check_password(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` was made from; a hash of no known kind is False."""
    if stored.startswith("$argon2"):
        try:   # the hash carries its own parameters: any hasher checks it
            return _hasher(TIME_COST, MEMORY_KIB, LANES).verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return check_password_hash(stored, password)


def kind(stored: str) -> str:
    """What a hash's check costs, without its salt and digest: `$argon2id$v=19$m=19456,t=2,p=1`,
    `scrypt:32768:8:1`, `pbkdf2:sha256:600000`."""
    return stored.rsplit("$", 2)[0]


def is_current(stored: str) -> bool:
    return kind(stored) == CURRENT_KIND


def dummy_like(hashes: Iterable[str]) -> str:
    """A hash of a random password, of the kind most of `hashes` are (current Argon2id if none)."""
    counts = Counter(kind(h) for h in hashes)
    return _dummy(counts.most_common(1)[0][0] if counts else CURRENT_KIND)


def problem(stored: str) -> str | None:
    """Why a config's password hash cannot be checked at login (None: it can): a mangled or
    hand-made one would turn every login of that person into a refusal, or a very slow one."""
    argon2 = _ARGON2.fullmatch(stored)
    if argon2 is not None:
        m, t, p = (int(x) for x in argon2.groups())
        if not (8 * 1024 <= m <= 1024 * 1024 and 1 <= t <= 10 and 1 <= p <= 8):
            return f"argon2id 参数不合理：m={m}（应为 8192–1048576 KiB）、t={t}（1–10）、p={p}（1–8）"
        return None
    werkzeug = _WERKZEUG.fullmatch(stored)
    if werkzeug is None:
        return "应为 hall hash-password 生成的完整哈希（如 $argon2id$v=19$m=19456,t=2,p=1$盐$摘要），不能写明文密码"
    n, r, lanes, rounds = (int(x) if x else 0 for x in werkzeug.groups())
    if n and not (n & (n - 1) == 0 and 2**10 <= n <= 2**20 and 1 <= r <= 16 and 1 <= lanes <= 16):
        return f"scrypt 参数不合理：N={n}（应为 2 的幂，1024–1048576）、r={r}、p={lanes}（1–16）"
    if rounds and not 1_000 <= rounds <= 10_000_000:
        return f"pbkdf2 迭代次数不合理：{rounds}（应为 1000–10000000）"
    return None


@cache
def _hasher(time_cost: int, memory_kib: int, lanes: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=lanes, type=Type.ID)


@cache
def _dummy(of_kind: str) -> str:
    password = secrets.token_urlsafe(16)
    argon2 = _ARGON2_KIND.fullmatch(of_kind)
    if argon2 is not None:
        m, t, p = (int(x) for x in argon2.groups())
        return _hasher(t, m, p).hash(password)
    return generate_password_hash(password, method=of_kind)
