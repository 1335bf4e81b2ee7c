"""What `hall serve` refuses to start with: a real hall is not the demo.

- a secret (HALL_SECRET, or DATA_DIR/secret.key) shorter than MIN_SECRET bytes: it keys the ID
  number digests, the phone encryption and the signed rating links;
- the demo's staff password hashes (as copied from config/demo/hall.toml) and the demo's device
  tokens (demo-kiosk …, whose digests the demo config lists): everybody who ever read the README
  knows them. `hall serve --demo` allows them, for a demo served on purpose.
"""
from __future__ import annotations

from pathlib import Path

from . import passwords
from .config import HallConfig, load_hall_config

MIN_SECRET = 32
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo" / "hall.toml"


class NotForProduction(ValueError):
    pass


def check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET:
        raise NotForProduction(
            f"密钥太短（{len(secret)} 字节）：HALL_SECRET 或 数据目录/secret.key 至少 {MIN_SECRET} 字节，"
            f"可用 `python3 -c \"import secrets; print(secrets.token_hex(32))\"` 生成 / "
            f"the secret must be at least {MIN_SECRET} bytes")


def demo_leftovers(configs: list[HallConfig], demo: HallConfig | None = None) -> list[str]:
    """What of the demo these configs carry: one line per staff member or device."""
    demo = demo or load_hall_config(DEMO_CONFIG)
    demo_hashes = {p.password_hash for p in demo.staff}
    demo_tokens = {d.token_sha256 for d in demo.devices}
    found = []
    for cfg in configs:
        for person in cfg.staff:
            if person.password_hash in demo_hashes:
                found.append(f"{cfg.source}: 人员 {person.username} 使用演示密码 / demo password")
        for device in cfg.devices:
            if device.token_sha256 in demo_tokens:
                found.append(f"{cfg.source}: 设备 {device.name} 使用演示令牌 / demo device token")
    return found


def older_hashes(configs: list[HallConfig]) -> list[str]:
    """The people whose password hash is of an older kind than `hall hash-password` makes now
    (passwords.py): they still log in; a login with such a hash takes longer."""
    return [f"{cfg.source}: {person.username} ({passwords.kind(person.password_hash)})"
            for cfg in configs for person in cfg.staff if not passwords.is_current(person.password_hash)]


def check_serve(configs: list[HallConfig], secret: bytes, *, demo: bool) -> None:
    """Raise NotForProduction with every reason `hall serve` must not start."""
    check_secret(secret)
    if demo:
        return
    found = demo_leftovers(configs)
    if found:
        raise NotForProduction(
            "配置中仍有演示账号或演示令牌，正式运行前请用 hall hash-password / hall hash-token 换成新的"
            "（确为演示请加 --demo）/ demo accounts or tokens in a real hall's config:\n  " + "\n  ".join(found))
