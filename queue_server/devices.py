"""The device registry: heartbeats, last seen, reported status, and alerts for quiet or broken devices.

Heartbeats are frequent and mostly say "still here", so they are kept in memory and written to
the database only when something changed (a new status, an alert to open or close) or at most
every `write_every` seconds per device. The quiet-device check takes the newer of the memory and
the database time, so several server processes (Redis deployment) agree: each writes often
enough (write_every < quiet_after) for the others to see its devices alive.

An alert opening or closing is one `change()`: the device's new alerts are stored and one
`device.alert` / `device.ok` event announces them on /hall, so admin pages see it live.

Tokens: the admin may stop a device (`revoke`) or give it a new token (`rotate`, shown once, only
its hash kept). The config sync writes the config's token_sha256 at every start; `synced_token`
says how a rotated token survives that: it wins over the config's until the config's changes.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import weakref
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import schemas
from .auth import token_hash
from .changes import change
from .clock import iso
from .errors import bad_request, conflict
from .models import Base, Device, Window
from .runtime import Runtime
from .scoping import of_hall

log = logging.getLogger("hall.devices")

QUIET_AFTER = float(os.environ.get("HALL_DEVICE_QUIET_SECONDS", "90"))
CHECK_EVERY = float(os.environ.get("HALL_DEVICE_CHECK_SECONDS", "15"))
WRITE_EVERY = 30.0

PARTS = {"printer": "打印机", "serial": "串口", "socket": "实时连接", "keypad": "评价键盘", "led": "窗口屏",
         "voice": "语音", "screen": "屏幕"}
BAD_STATES = {"paper_out": "缺纸", "offline": "离线", "error": "故障", "cover_open": "纸仓盖打开",
              "jam": "卡纸", "disconnected": "未连接", "cutter_error": "切刀故障"}
KIND_WORDS = {"kiosk": "自助取号机", "display": "综合屏", "led": "窗口屏", "rater": "评价器"}


class DeviceHealth(Base):
    """What a device last reported and which alerts are open (code -> {message, since})."""
    __tablename__ = "device_health"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    status: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status_at: Mapped[datetime | None] = mapped_column(DateTime)
    alerts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeviceTokenRotation(Base):
    """A device whose token the admin rotated, and the config token_sha256 that rotation replaced.

    The new token's hash is in `devices.token_sha256` like any other; this row is how the config
    sync knows to keep it (see `synced_token`)."""
    __tablename__ = "device_token_rotations"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    config_sha256: Mapped[str] = mapped_column(String(64))
    rotated_at: Mapped[datetime] = mapped_column(DateTime)


def synced_token(s: Session, device: Device | None, config_sha256: str) -> tuple[str, bool]:
    """(the token hash a device row keeps after the config sync, whether the config's changed).

    A rotated token wins while the config still names the token it replaced; once someone puts a
    new token_sha256 in the config, the config's wins and the rotation is forgotten. A changed
    config token is also how a revoked device comes back."""
    if device is None:
        return config_sha256, True
    rotation = s.get(DeviceTokenRotation, device.id)
    if rotation is None:
        return config_sha256, device.token_sha256 != config_sha256
    if rotation.config_sha256 == config_sha256:
        return device.token_sha256, False
    s.delete(rotation)
    return config_sha256, True


def clean_status(value: Any) -> dict[str, Any]:
    """A status is a small flat object of short names to short values; anything else is a 400."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 20:
        raise bad_request("invalid_status", "status 应为不超过 20 项的对象，如 {\"printer\": \"paper_out\"}")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 32:
            raise bad_request("invalid_status", "status 的键应为 1–32 个字符")
        if isinstance(item, str) and len(item) > 64 or not isinstance(item, (str, int, float, bool, type(None))):
            raise bad_request("invalid_status", f"status.{key} 应为简短的文字、数字或 true/false")
        out[key] = item
    return out


def status_alerts(status: dict[str, Any]) -> dict[str, str]:
    """Alerts a status asks for: {"status:printer": "打印机缺纸"}."""
    return {f"status:{part}": PARTS.get(part, part) + BAD_STATES[state]
            for part, state in status.items() if isinstance(state, str) and state in BAD_STATES}


def device_brief(s: Session, device: Device) -> schemas.DeviceBrief:
    window = s.get(Window, device.window_id) if device.window_id else None
    return schemas.DeviceBrief(
        id=device.id, name=device.name, kind=device.kind, kind_name=KIND_WORDS.get(device.kind, device.kind),
        window=schemas.WindowBrief(id=window.id, number=window.number, name=window.name) if window else None)


def _alert_list(alerts: dict[str, Any]) -> list[schemas.DeviceAlert]:
    """Stored alerts (code -> {message, since}) as the list the API and the events give."""
    return [schemas.DeviceAlert(code=code, message=a.get("message", ""), since=a.get("since"))
            for code, a in sorted(alerts.items())]


class Registry:
    def __init__(self, rt: Runtime, quiet_after: float = QUIET_AFTER, write_every: float = WRITE_EVERY):
        self.rt = rt
        self.quiet_after = quiet_after
        self.write_every = write_every
        self._lock = threading.Lock()
        self._seen: dict[int, datetime] = {}      # last heartbeat heard by this process
        self._written: dict[int, datetime] = {}   # when this process last wrote it down
        self._status: dict[int, dict] = {}
        self._alerting: set[int] = set()          # devices with open alerts (as last seen)

    # ---------------------------------------------------------------- heartbeats
    def beat(self, hall_id: int, device_id: int, status: dict[str, Any]) -> dict[str, Any]:
        now = self.rt.clock.now()
        with self._lock:
            changed = self._status.get(device_id) != status
            written = self._written.get(device_id)
            due = (changed or written is None or device_id in self._alerting
                   or (now - written).total_seconds() >= self.write_every)
            self._seen[device_id] = now
            self._status[device_id] = status
            if due:
                self._written[device_id] = now
        if due:
            self._write(hall_id, device_id, now, status)
        return {"ok": True, "interval": max(1, int(self.quiet_after // 3)), "server_time": iso(now),
                "written": due}

    def _write(self, hall_id: int, device_id: int, now: datetime, status: dict[str, Any]) -> None:
        """One transaction: last seen, status, and (only if they changed) the alerts with their event."""
        with change(self.rt, hall_id, "device:heartbeat") as ch:
            s = ch.session
            device = s.scalar(select(Device).where(Device.id == device_id).with_for_update())
            if device is None or device.revoked:
                return
            device.last_seen_at = now
            health = self._health(s, device)
            health.status, health.status_at = dict(status), now
            wanted = {code: {"message": msg, "since": health.alerts.get(code, {}).get("since") or iso(now)}
                      for code, msg in status_alerts(status).items()}
            self._set_alerts(ch, device, health, wanted)

    def _health(self, s: Session, device: Device) -> DeviceHealth:
        health = s.get(DeviceHealth, device.id)
        if health is None:
            health = DeviceHealth(device_id=device.id, hall_id=device.hall_id, status={}, alerts={})
            s.add(health)
        return health

    def _set_alerts(self, ch, device: Device, health: DeviceHealth, wanted: dict) -> None:
        old = dict(health.alerts or {})
        if set(old) == set(wanted):
            self._remember(device.id, bool(old))
            return
        health.alerts = wanted
        opened = sorted(set(wanted) - set(old))
        cleared = sorted(set(old) - set(wanted))
        brief = device_brief(ch.session, device)
        ch.emit("device.alert" if opened else "device.ok", window_id=device.window_id, device=brief,
                alerts=_alert_list(wanted), opened=opened, cleared=cleared)
        self._remember(device.id, bool(wanted))

    def _remember(self, device_id: int, alerting: bool) -> None:
        with self._lock:
            (self._alerting.add if alerting else self._alerting.discard)(device_id)

    # ---------------------------------------------------------------- the quiet-device check
    def last_seen(self, device: Device) -> datetime | None:
        mem = self._seen.get(device.id)
        db = device.last_seen_at
        return max(t for t in (mem, db) if t is not None) if (mem or db) else None

    def check(self) -> int:
        """One pass: open a `quiet` alert for devices silent too long. Returns alerts opened."""
        now = self.rt.clock.now()
        limit = timedelta(seconds=self.quiet_after)
        with self.rt.read() as s:
            quiet = [(d.hall_id, d.id) for d in s.scalars(select(Device).where(Device.revoked.is_(False)))
                     if (seen := self.last_seen(d)) is not None and now - seen > limit]
            open_quiet = {h.device_id for h in s.scalars(select(DeviceHealth))
                          if "quiet" in (h.alerts or {})}
        opened = 0
        for hall_id, device_id in quiet:
            if device_id not in open_quiet:
                opened += self._open_quiet(hall_id, device_id, now, limit)
        return opened

    def _open_quiet(self, hall_id: int, device_id: int, now: datetime, limit: timedelta) -> int:
        with change(self.rt, hall_id, "device:monitor") as ch:
            s = ch.session
            device = s.scalar(select(Device).where(Device.id == device_id).with_for_update())
            seen = self.last_seen(device) if device is not None else None
            if device is None or device.revoked or seen is None or now - seen <= limit:
                return 0  # another process or a beat got there first
            health = self._health(s, device)
            if "quiet" in (health.alerts or {}):
                return 0
            wanted = dict(health.alerts or {})
            wanted["quiet"] = {"message": f"超过{int(limit.total_seconds())}秒没有心跳（最后 {seen:%H:%M:%S}）",
                               "since": iso(now)}
            self._set_alerts(ch, device, health, wanted)
            return 1

    # ---------------------------------------------------------------- the admin's view
    def listing(self, hall_id: int) -> list[schemas.DeviceListed]:
        now = self.rt.clock.now()
        out = []
        with self.rt.read() as s:
            health = {h.device_id: h for h in s.scalars(select(DeviceHealth).where(DeviceHealth.hall_id == hall_id))}
            for device in s.scalars(select(Device).where(Device.hall_id == hall_id).order_by(Device.kind, Device.name)):
                seen = self.last_seen(device)
                h = health.get(device.id)
                status = self._status.get(device.id, h.status if h else {})
                state: schemas.DeviceState
                if device.revoked:
                    state = "revoked"
                elif seen is None:
                    state = "never"
                else:
                    state = "online" if (now - seen).total_seconds() <= self.quiet_after else "offline"
                out.append(schemas.DeviceListed(
                    **device_brief(s, device), revoked=device.revoked, state=state, online=state == "online",
                    last_seen_at=iso(seen),
                    seconds_since_seen=None if seen is None else int((now - seen).total_seconds()),
                    status=status, alerts=_alert_list((h.alerts if h else None) or {})))
        return out

    def revoke(self, hall_id: int, device_id: int, actor: str) -> schemas.Device:
        with change(self.rt, hall_id, actor) as ch:
            s = ch.session
            device = _locked_device(s, hall_id, device_id)
            if device.revoked:
                return schemas.Device(**device_brief(s, device), revoked=True)
            device.revoked = True
            health = s.get(DeviceHealth, device.id)
            if health is not None:
                health.alerts = {}
            brief = device_brief(s, device)
            ch.emit("device.revoked", window_id=device.window_id, device=brief)
        with self._lock:
            for table in (self._seen, self._written, self._status):
                table.pop(device_id, None)
            self._alerting.discard(device_id)
        self._forget_tokens(device_id)
        return schemas.Device(**brief, revoked=True)

    def rotate(self, hall_id: int, device_id: int, actor: str) -> tuple[schemas.Device, str]:
        """A new token for a device: (its brief, the token). The old token stops working at once in
        this process and within auth.PRINCIPAL_TTL in the others; the new one is returned only here."""
        token = secrets.token_urlsafe(32)
        with change(self.rt, hall_id, actor) as ch:
            s = ch.session
            device = _locked_device(s, hall_id, device_id)
            if device.revoked:
                raise conflict("device_revoked", "设备已停用，不能更换令牌：请在大厅配置中为它写入新的 token_sha256 后重启服务")
            rotation = s.get(DeviceTokenRotation, device.id)
            if rotation is None:  # the token being replaced is still the config's
                s.add(DeviceTokenRotation(device_id=device.id, hall_id=hall_id,
                                          config_sha256=device.token_sha256, rotated_at=ch.now))
            else:
                rotation.rotated_at = ch.now
            device.token_sha256 = token_hash(token)
            from .pairing import end_pairings
            end_pairings(s, device.id)   # browsers paired with the old token's device are out too
            brief = device_brief(s, device)
            ch.emit("device.token_rotated", window_id=device.window_id, device=brief)
        self._forget_tokens(device_id)
        return schemas.Device(**brief, revoked=False), token

    def _forget_tokens(self, device_id: int) -> None:
        """Drop the device from auth's short-lived token cache (this process)."""
        cache = getattr(self.rt, "principals", None) or {}
        for digest, entry in list(cache.items()):
            if getattr(entry[0], "device_id", None) == device_id:
                cache.pop(digest, None)


def _locked_device(s: Session, hall_id: int, device_id: int) -> Device:
    """The hall's device, locked for the change (another hall's is not there)."""
    device = of_hall(s.scalar(select(Device).where(Device.id == device_id).with_for_update()), hall_id, Device)
    return device


class Monitor:
    """The background checker: a daemon thread that runs `Registry.check` every `interval` s.

    It holds the app only weakly and ends by itself when the app is gone (tests create many)."""

    def __init__(self, registry: Registry, app, interval: float = CHECK_EVERY):
        self.registry = registry
        self.interval = interval
        self._app = weakref.ref(app)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hall-device-monitor", daemon=True)

    def start(self) -> "Monitor":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)

    def set_interval(self, seconds: float) -> None:
        self.interval = seconds
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set() or self._app() is None:
                return
            try:
                self.registry.check()
            except Exception as exc:  # noqa: BLE001 - a bad pass (database away) must not end the monitor
                log.warning("device check failed: %s: %s", exc.__class__.__name__, str(exc).splitlines()[0][:200])
