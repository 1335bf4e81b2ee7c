"""Slip build benchmark: how long ``build_slip`` takes and how many bytes it sends.

    python bench/slip_bench.py [--n 1000]

Prints a markdown table: median and p99 build time over N builds for P80 and P58, with
native barcode/QR commands and with raster images, and the bytes per slip (what crosses
the wire: it matters on 9600-baud serial printers). A 5-item and a 16-item material list.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from printers import P58, P80, Slip, build_slip  # noqa: E402

MATERIALS = [
    "公司登记（备案）申请书（法定代表人签署）原件1份",
    "公司章程（全体股东签署）原件1份",
    "股东主体资格证明或自然人身份证件复印件1份",
    "法定代表人、董事、监事和经理的任职文件原件1份",
    "住所使用证明（房产证复印件或租赁合同）1份",
]


def sample(materials: list[str], n: int) -> Slip:
    # A different ticket each build so nothing can be cached between runs.
    return Slip(
        hall_name="日照市政务服务中心", ticket_id=f"3711022024061{n:05d}", ticket_number=f"A{n % 1000:03d}",
        matter_name="有限责任公司设立登记", department_name="市场监督管理局",
        windows=[("3号窗口 商事登记窗口", "张丽"), ("5号窗口 综合窗口", "")], waiting_ahead=n % 40,
        issued_at=datetime(2024, 6, 11, 9, 30, 12), materials=materials, fees="不收费",
        matter_kind="承诺件", promised_days=3, query_code=f"Q{n:05d}",
        progress_url=f"https://zwfw.rizhao.gov.cn/q/Q{n:05d}", complaint_phone="0633-12345")


def measure(profile, materials, n: int) -> tuple[float, float, int]:
    times, sizes = [], []
    for i in range(n):
        slip = sample(materials, i)
        t0 = time.perf_counter()
        data = build_slip(slip, profile)
        times.append(time.perf_counter() - t0)
        sizes.append(len(data))
    times.sort()
    return statistics.median(times) * 1e3, times[min(n - 1, int(n * 0.99))] * 1e3, int(statistics.median(sizes))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    long_list = MATERIALS * 3 + MATERIALS[:1]
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()}, "
          f"{args.n} builds per row\n")
    print("| profile | codes | materials | median ms | p99 ms | bytes/slip |")
    print("|---|---|---|---:|---:|---:|")
    for profile in (P80, P58):
        for variant, prof in (("native", profile), ("raster", profile.raster())):
            for label, mats in (("5", MATERIALS), ("16", long_list)):
                med, p99, size = measure(prof, mats, args.n)
                print(f"| {profile.name} | {variant} | {label} | {med:.3f} | {p99:.3f} | {size} |")


if __name__ == "__main__":
    main()
