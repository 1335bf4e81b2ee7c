"""Printer profiles: what the paper and the firmware can do.

The slip layout depends only on this, never on the connection: the same bytes go to a
network, serial or USB printer of the same model.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PrinterProfile:
    """One printer model.

    ``columns`` counts half-width cells of font A (12x24 dots); a Chinese character takes two.
    ``native_barcode``/``native_qr`` say whether the firmware understands GS k CODE128 and
    GS ( k QR; when false the slip sends raster images (GS v 0) instead.
    """

    name: str
    width_dots: int
    columns: int
    native_barcode: bool = True
    native_qr: bool = True
    cut: bool = True

    def __post_init__(self) -> None:
        if self.width_dots < 96 or self.width_dots % 8:
            raise ValueError(f"打印宽度必须是 8 的倍数且不小于 96 点：{self.width_dots}")
        if not 16 <= self.columns <= self.width_dots // 12:
            raise ValueError(f"每行字数 {self.columns} 与打印宽度 {self.width_dots} 点不符")

    def raster(self) -> "PrinterProfile":
        """The same paper with barcodes and QR sent as images (for printers lacking them)."""
        return replace(self, name=f"{self.name}-raster", native_barcode=False, native_qr=False)


#: 80 mm paper, 72 mm printable at 203 dpi (e.g. Epson TM-T88, Xprinter XP-80).
P80 = PrinterProfile("P80", width_dots=576, columns=48)
#: 58 mm paper, 48 mm printable; cheap 58 mm heads often lack a cutter and native QR.
P58 = PrinterProfile("P58", width_dots=384, columns=32)

_PROFILES = {p.name.upper(): p for p in (P80, P58)}
_ALIASES = {"80": "P80", "80MM": "P80", "58": "P58", "58MM": "P58"}


def profile_by_name(name: str) -> PrinterProfile:
    """Pick a profile from config text: ``P80``, ``P58``, ``58mm``, with ``-raster`` to force
    images, ``-nocut`` for printers without a cutter (e.g. ``P58-raster-nocut``)."""
    parts = [p for p in name.strip().upper().replace("_", "-").split("-") if p]
    if not parts:
        raise ValueError("打印机型号为空，可用：P80、P58（可加 -raster、-nocut）")
    base = _ALIASES.get(parts[0], parts[0])
    if base not in _PROFILES:
        raise ValueError(f"未知打印机型号“{name}”，可用：P80、P58（可加 -raster、-nocut）")
    profile = _PROFILES[base]
    for opt in parts[1:]:
        if opt == "RASTER":
            profile = profile.raster()
        elif opt == "NOCUT":
            profile = replace(profile, name=f"{profile.name}-nocut", cut=False)
        else:
            raise ValueError(f"打印机型号“{name}”中有未知选项“{opt.lower()}”，可用：-raster、-nocut")
    return profile


def profile_for(url: str, name: str | None = None) -> PrinterProfile:
    """The configured model, else what the URL says (a 384-dot preview is 58 mm paper), else 80 mm."""
    if name:
        return profile_by_name(name)
    if url.startswith("preview:") and ("width=384" in url or "profile=P58" in url.upper()):
        return P58
    return P80
