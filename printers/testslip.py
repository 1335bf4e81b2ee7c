"""The printer test page for ``hall print-test``: proves the setup, not just the cable.

It shows the profile, a ruler per column count (so a wrong 58/80 choice is obvious), Chinese
text and punctuation (FS & and GB18030 working), then a sample slip with its barcode and QR
in the form the profile selects. Scan both codes to finish the check. `print_test(url)` prints
it and waits for the printer to say how it went, before the kiosk or the window opens.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from . import escpos as ep
from .connectors import PrinterError, connect
from .profile import PrinterProfile, profile_for
from .queue import JobState, PrintQueue
from .render import write_png
from .slip import Slip, build_slip
from .wrap import wrap

SAMPLE = Slip(
    hall_name="政务服务中心（打印测试）",
    ticket_id="371100202401010001",
    ticket_number="A001",
    matter_name="打印机测试（非真实办件）",
    department_name="大厅管理办公室",
    windows=[("1号窗口 综合窗口", "测试")],
    waiting_ahead=0,
    issued_at=datetime(2024, 1, 1, 8, 30),
    materials=["本单仅用于测试打印效果，请勿用于办事", "条形码与二维码应能被扫码枪和手机识别"],
    fees="不收费",
    matter_kind="即办件",
    promised_days=0,
    query_code="TEST01",
    progress_url="http://127.0.0.1:8000/t/TEST01",
    complaint_phone="12345",
)


def test_slip(profile: PrinterProfile) -> bytes:
    """ESC/POS bytes of the test page followed by a sample slip."""
    cols = profile.columns
    ruler = "".join(str(i % 10) for i in range(1, cols + 1))
    def native(flag: bool) -> str:
        return "打印机内置指令" if flag else "图像（GS v 0）"

    info = [f"型号：{profile.name}", f"宽度：{profile.width_dots}点 / {cols}列",
            f"条码：{native(profile.native_barcode)}", f"二维码：{native(profile.native_qr)}",
            f"切纸：{'自动切纸' if profile.cut else '无切刀，请手撕'}",
            "标点：，。、；：？！“”（）《》【】"]
    head = [ep.init(), ep.align(ep.CENTER), ep.bold(True), ep.size(1, 2), ep.line("打印机测试页"),
            ep.size(1, 1), ep.bold(False), ep.align(ep.LEFT), ep.line(ruler), ep.line("中" * (cols // 2))]
    head += [ep.line(s) for item in info for s in wrap(item, cols)]
    head += [ep.line("-" * cols), ep.feed(1)]
    return b"".join(head) + build_slip(SAMPLE, profile)


test_slip.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name


def print_test(url: str, profile: str | None = None, *, timeout: float = 15.0,
               png: str | Path | None = None) -> str:
    """Print the test page on `url` and wait for it; a line saying so, or PrinterError saying why not.
    With `png`, the picture of the same bytes is written there too."""
    conn = connect(url)
    model = profile_for(url, profile)
    data = test_slip(model)
    with PrintQueue(conn, retry_delays=(0.5, 1, 2), give_up_after=timeout) as queue:
        queue.submit("print-test", data)
        info = queue.wait("print-test", timeout + 10)
        status = queue.last_status
    if png:
        write_png(data, png, model.width_dots)
    if info is not None and info.state == JobState.UNCONFIRMED:
        raise PrinterError(f"测试页已全部送出，但打印机未确认，请查看是否打出：{info.error}")
    if info is None or info.state != JobState.PRINTED:
        reason = (info.error if info else "") or (status.message if status else "打印机无应答")
        raise PrinterError(f"测试页未能打印：{reason}")
    return f"测试页已打印：{conn.url}（{model.name}，{model.width_dots}点/{model.columns}列）"
