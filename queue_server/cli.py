"""`hall`: run the demo hall, serve a real hall, and the admin chores."""
from __future__ import annotations

import argparse
import hashlib
import getpass
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from .config import ConfigError, load_hall_config
from .workdays import CalendarError, WorkCalendar

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo" / "hall.toml"
# A sockets process runs this much nicer than the API: under a socket flood on a shared CPU the
# API kept issue and call-next p99 at ~20 ms with it, ~160 ms without (bench/README.md).
SOCKETS_NICE = 10


def _sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'hall.db').resolve()}"


def _serve(make_app, url: str, host: str, port: int) -> None:
    """Serve until stopped; the app is made by the server's worker process (server.py)."""
    from .backup import mark_in_use
    from .server import serve
    in_use = mark_in_use(url)
    try:
        serve(make_app, host, port, on_stop=_flush_audit)
    finally:
        if in_use is not None:
            in_use.unlink(missing_ok=True)


def _flush_audit(app) -> None:
    from .supervision.audit import flush
    try:
        flush(app.extensions["hall"])  # the last batch of the audit trail
    except Exception:  # noqa: BLE001 - stopping anyway; the writer logged why
        logging.getLogger("hall").exception("audit rows not written at stop")


def _demo_history(cfg, url: str, secret: bytes) -> None:
    """A new demo database starts with last month's cases and ratings (queue_server/demo_history.py)."""
    from .app import create_app
    from .clock import Clock, FrozenClock
    from .demo_history import seed_if_new
    clock = FrozenClock(Clock().now())  # a clock not real time: no background checkers either
    app = create_app([cfg], url, secret=secret, clock=clock)
    rt = app.extensions["hall"]
    rt.ignore_hours = True
    print("演示大厅首次启动：写入上月的办件与评价 / first start: writing last month's history …", flush=True)
    seed_if_new(rt, rt.hall_codes[cfg.code], clock)
    rt.engine.dispose()


def cmd_demo(args) -> int:
    from .app import create_app, secret_from_dir
    data_dir = Path(args.data_dir)
    url, secret = _sqlite_url(data_dir), secret_from_dir(data_dir)
    cfg = load_hall_config(DEMO_CONFIG)
    # The one place the demo's public address is set: slip QR codes, 查询网址 and SMS rating
    # links all start with the hall's base_url, which must name the port people reach.
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    base = cfg.base_url = f"http://{host}:{args.port}"
    if args.host in ("0.0.0.0", "::", ""):
        cfg.allowed_hosts = ["*"]   # reached at this machine's LAN addresses; nothing is built from Host
    if not (data_dir / "hall.db").exists():
        _demo_history(cfg, url, secret)
    import secrets
    pairing_code = f"{secrets.randbelow(10 ** 8):08d}"   # the kiosk link below pairs one browser

    def make_app():
        from .pairing import demo_code
        app = create_app([cfg], url, secret=secret)
        app.extensions["hall"].ignore_hours = True  # people try the demo at any hour (queue_server/rules.py)
        app.extensions["hall"].demo = True
        rt = app.extensions["hall"]
        demo_code(rt, rt.hall_codes[cfg.code], hashlib.sha256(b"demo-kiosk").hexdigest(), pairing_code)
        from .staffing import sign_in_assigned
        for hall_id in rt.halls:   # the demo clerks at their windows: open ones to show
            sign_in_assigned(rt, hall_id, actor="demo")
        return app

    clerks = [p.username for p in cfg.staff if p.role == "clerk"]
    print(f"""
{cfg.name} — 演示大厅 / demo hall（数据保存在 {data_dir.resolve()}）

  首页 / start page            {base}/
  自助取号机 / kiosk           {base}/kiosk/?pair={pairing_code}
                               (配对一次，其他浏览器：设备管理页的“配对码” / one browser; others: a code from /admin/devices)
  窗口叫号 / window caller     {base}/caller
  办件台 / case desk           {base}/cases
  大厅综合屏 / hall display    {base}/display#token=demo-display
  评价器 / rating device       {base}/rater#token=demo-rater-01   (-02, -03 for windows 2, 3)
  督查工作台 / supervisor      {base}/supervisor
  投箱评议 / slip box          {base}/supervisor/slips
  月度通报 / monthly report    {base}/supervisor/report
  设备管理 / devices           {base}/admin/devices
  接口 / API                   {base}/api/v1/matters
  窗口屏 / LED strip           python -m display.led --server {base} --token demo-led-01 --port /dev/ttyUSB0

演示账号 / demo accounts（密码 password: demo1234）
  窗口人员 clerks: {clerks[0]} … {clerks[-1]}（编号即窗口号 / number = window）
  supervisor, admin
设备令牌 / device tokens: demo-kiosk, demo-display, demo-led-01..03, demo-rater-01..03

The demo takes tickets at any hour; a real hall keeps its opening hours.
按 Ctrl+C 停止 / Ctrl+C to stop.
""", flush=True)
    _serve(make_app, url, args.host, args.port)
    return 0


def cmd_serve(args) -> int:
    from .app import create_app, secret_from_dir
    data_dir = Path(args.data_dir)
    url = args.database_url or _sqlite_url(data_dir)
    configs = [load_hall_config(path) for path in args.config]  # a wrong file stops here, exit 2
    WorkCalendar.load(configs[0].calendar)
    secret = secret_from_dir(data_dir)
    from .production import check_serve, older_hashes
    check_serve(configs, secret, demo=args.demo)   # exit 2 with the reasons (main)
    older = older_hashes(configs)
    if older:
        print("提示：以下人员的密码哈希是旧式的（仍可登录），请用 hall hash-password 重新生成 / "
              "older password hashes (still valid), re-hash with `hall hash-password`:\n  " + "\n  ".join(older),
              file=sys.stderr)

    if args.role != "all" and not args.message_queue:
        print(f"--role {args.role} 需要 --message-queue：接口进程和实时连接进程之间靠它传递事件 / "
              f"--role {args.role} needs --message-queue (events travel between the processes on it)",
              file=sys.stderr)
        return 2

    def make_app():
        app = create_app(configs, url, secret=secret, message_queue=args.message_queue, channel=args.channel,
                         role=args.role)
        app.extensions["hall"].ignore_hours = args.ignore_hours
        return app

    nice = args.nice if args.nice is not None else (SOCKETS_NICE if args.role == "sockets" else 0)
    if nice < 0 or nice > 19:
        print(f"--nice 只能是 0–19 / --nice must be 0–19, not {nice}", file=sys.stderr)
        return 2
    if nice:
        os.nice(nice)   # a flood of sockets must not take the CPU that login, issuing and call-next need
    role = "" if args.role == "all" else f" ({args.role})"
    print(f"serving {', '.join(args.config)} on http://{args.host}:{args.port}{role}", flush=True)
    _serve(make_app, url, args.host, args.port)
    return 0


def cmd_check_config(args) -> int:
    for path in args.config:
        cfg = load_hall_config(path)
        WorkCalendar.load(cfg.calendar)
        print(f"{path}: 正确 — {len(cfg.departments)} 个部门, {len(cfg.matters)} 个事项, "
              f"{len(cfg.windows)} 个窗口, {len(cfg.staff)} 名人员, {len(cfg.devices)} 台设备")
    return 0


def cmd_due_date(args) -> int:
    start = datetime.fromisoformat(args.start).replace(tzinfo=None)
    cfg = load_hall_config(args.config)
    calendar = WorkCalendar.load(cfg.calendar)
    print(calendar.due_at(start, args.working_days, cfg.deadline_time).isoformat(timespec="minutes"))
    return 0


def cmd_hash_password(args) -> int:
    from .passwords import hash_password
    password = args.password or getpass.getpass("密码 password: ")
    if len(password) < 8:
        print("密码至少 8 位", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def cmd_hash_token(args) -> int:
    print(hashlib.sha256(args.token.encode()).hexdigest())
    return 0


def cmd_backup(args) -> int:
    from .backup import backup
    url = args.database_url or _sqlite_url(Path(args.data_dir))
    out, counts = backup(url, Path(args.out) if args.out else None)
    print(f"备份完成 / backup written: {out}")
    print("  " + ", ".join(f"{table} {n}" for table, n in counts.items() if table != "alembic_version"))
    return 0


def cmd_restore(args) -> int:
    from .backup import restore
    url = args.database_url or _sqlite_url(Path(args.data_dir))
    counts = restore(url, Path(args.backup))
    print(f"恢复完成 / restored from {args.backup}")
    print("  " + ", ".join(f"{table} {n}" for table, n in counts.items() if table != "alembic_version"))
    return 0


def cmd_print_test(args) -> int:
    from printers import PrinterError
    from printers.testslip import print_test
    try:
        print(print_test(args.printer, args.profile, png=args.png))
    except PrinterError as exc:
        print(f"打印失败 / print failed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_slip(args) -> int:
    import os
    os.environ["HALL_WORKERS"] = "0"  # a one-shot command starts no background checkers
    from printers import PrinterError
    from .app import create_app, secret_from_dir
    from .errors import HallError
    from .slips import print_slip, write_slip
    if not args.out and not args.printer:
        print("错误 / error: 请用 --printer URL 打印（补打），或用 --out 文件 保存", file=sys.stderr)
        return 2
    if args.printer:
        from printers import connect
        try:
            connect(args.printer)
        except ValueError as exc:
            print(f"错误 / error: {exc}", file=sys.stderr)
            return 2
    data_dir = Path(args.data_dir)
    app = create_app(args.config or [DEMO_CONFIG], args.database_url or _sqlite_url(data_dir),
                     secret=secret_from_dir(data_dir))
    try:
        if args.out:
            print(write_slip(app, args.ticket, args.out, profile=args.profile, reprint=args.reprint))
        if args.printer:
            print(print_slip(app, args.ticket, args.printer, profile=args.profile))
    except HallError as exc:
        print(f"错误 / error: {exc.message}", file=sys.stderr)
        return 1
    except PrinterError as exc:
        print(f"打印失败 / print failed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_monthly_report(args) -> int:
    import os
    os.environ["HALL_WORKERS"] = "0"  # a one-shot command starts no background checkers
    from .app import create_app, secret_from_dir
    from .supervision.report import standalone_html
    data_dir = Path(args.data_dir)
    app = create_app(args.config or [DEMO_CONFIG], args.database_url or _sqlite_url(data_dir),
                     secret=secret_from_dir(data_dir))
    rt = app.extensions["hall"]
    hall_id = rt.hall_codes[args.hall] if args.hall else next(iter(rt.halls))
    Path(args.out).write_text(standalone_html(app, hall_id, args.month), encoding="utf-8")
    print(f"月度通报 / monthly report {args.month}: {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hall", description="政务服务大厅 排队叫号与好差评系统")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the demo hall on SQLite / 运行演示大厅")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data-dir", default="var")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve a real hall / 运行大厅服务")
    p.add_argument("--config", action="append", required=True, help="hall TOML (repeat for several halls)")
    p.add_argument("--database-url", help="sqlite:///… or postgresql+psycopg://…")
    p.add_argument("--message-queue", help="redis://… to share events between server processes")
    p.add_argument("--channel", default="hall", help="the message queue channel (one per deployment)")
    p.add_argument("--role", choices=("all", "api", "sockets"), default="all",
                   help="all: one process serves everything; api / sockets: split over processes "
                        "behind nginx, with --message-queue (deploy/nginx.conf) / 进程分工")
    p.add_argument("--nice", type=int, default=None,
                   help=f"lower this process's CPU priority (0–19); --role sockets defaults to {SOCKETS_NICE} "
                        "so a socket flood yields the CPU to the API / 降低进程优先级")
    # Tests and benchmarks on the real clock take tickets at any hour; never for a real hall.
    p.add_argument("--ignore-hours", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--demo", action="store_true",
                   help="allow the demo's accounts and device tokens (never for a real hall) / 允许演示账号")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data-dir", default="var")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("backup", help="consistent copy of the SQLite database, checked / 备份")
    p.add_argument("--data-dir", default="var")
    p.add_argument("--database-url")
    p.add_argument("--out", help="backup file (default DATA_DIR/backups/hall-YYYYmmdd-HHMMSS.db)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the SQLite database with a checked backup / 恢复")
    p.add_argument("backup")
    p.add_argument("--data-dir", default="var")
    p.add_argument("--database-url")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("print-test", help="print the test page on a slip printer / 打印测试页")
    p.add_argument("--printer", required=True,
                   help="tcp://…:9100, serial:///dev/ttyS0?baudrate=9600, usb://VID:PID, file:PATH, preview:")
    p.add_argument("--profile", help="printer model: P80 (default), P58, with -raster / -nocut")
    p.add_argument("--png", help="also write the picture of the test page to this file")
    p.set_defaults(func=cmd_print_test)

    p = sub.add_parser("slip", help="reprint a ticket's slip (【补打】) on a printer, or write it to a file "
                                    "(.png picture, else ESC/POS bytes) / 补打、生成告知单")
    p.add_argument("ticket", help="today's number (A012), ticket id or query code (查询码)")
    p.add_argument("--printer", help="print it, marked 【补打】: tcp://…:9100, serial:///dev/ttyS0?baudrate=9600, "
                                     "usb://VID:PID, file:PATH")
    p.add_argument("--out", help="write it to this file instead (.png for a picture)")
    p.add_argument("--config", action="append", help="hall TOML (default: the demo hall)")
    p.add_argument("--database-url")
    p.add_argument("--data-dir", default="var")
    p.add_argument("--profile")
    p.add_argument("--reprint", action="store_true", help="mark the slip 【补打】")
    p.set_defaults(func=cmd_slip)

    p = sub.add_parser("monthly-report", help="the month's published report as one HTML file / 月度通报")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--out", required=True)
    p.add_argument("--config", action="append", help="hall TOML (default: the demo hall)")
    p.add_argument("--hall", help="hall code, when the config has several halls")
    p.add_argument("--database-url")
    p.add_argument("--data-dir", default="var")
    p.set_defaults(func=cmd_monthly_report)

    p = sub.add_parser("check-config", help="check hall config files / 检查配置文件")
    p.add_argument("config", nargs="+")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("due-date", help="print the due time for a limit in working days / 计算承诺办结时间")
    p.add_argument("--start", required=True, help="ISO time the case is accepted, e.g. 2026-02-12T10:00")
    p.add_argument("--working-days", type=int, required=True)
    p.add_argument("--config", default=str(DEMO_CONFIG))
    p.set_defaults(func=cmd_due_date)

    p = sub.add_parser("hash-password", help="hash a staff password for the config")
    p.add_argument("--password")
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("hash-token", help="hash a device token for the config")
    p.add_argument("token")
    p.set_defaults(func=cmd_hash_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per request is noise at a hall's volume; errors and our own log lines stay.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say nothing unless wrong
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, CalendarError) as exc:
        print(f"配置错误 / config error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
