"""CODE128 (code sets B and C): our own encoder.

Used three ways: to build the GS k data for printers with native barcodes, to draw raster
barcodes for printers without them, and by the preview renderer to draw what a native
barcode command prints. One encoder for all three keeps the preview honest.
"""
from __future__ import annotations

# Bar/space widths (in modules) of symbol values 0..105, then the stop pattern.
_PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232 2331112"
).split()

START_B, START_C, CODE_B, CODE_C, STOP = 104, 105, 100, 99, 106
#: Minimum quiet zone each side, in modules (ISO/IEC 15417 asks for 10).
QUIET_MODULES = 10


def check_payload(payload: str) -> None:
    """CODE128 B/C carries printable ASCII only; anything else is a caller error."""
    if not payload:
        raise ValueError("条码内容为空")
    bad = [ch for ch in payload if not 32 <= ord(ch) <= 126]
    if bad:
        raise ValueError(f"条码内容只能是英文字母、数字和符号，不能含“{bad[0]}”：{payload!r}")


def segments(payload: str) -> list[tuple[str, str]]:
    """Split into code-set runs ``[("B", "RZ"), ("C", "20240611"), ...]``.

    Digit runs go to set C (two digits per symbol) when that saves symbols: a run of 4+
    digits at the start or end, or 6+ in the middle; an odd run leaves its first digit in B.
    """
    check_payload(payload)
    runs: list[tuple[bool, str]] = []
    for ch in payload:
        digit = ch.isdigit()
        if runs and runs[-1][0] == digit:
            runs[-1] = (digit, runs[-1][1] + ch)
        else:
            runs.append((digit, ch))
    out: list[tuple[str, str]] = []

    def add(code: str, text: str) -> None:
        if out and out[-1][0] == code:
            out[-1] = (code, out[-1][1] + text)
        elif text:
            out.append((code, text))

    for idx, (digit, text) in enumerate(runs):
        edge = idx == 0 or idx == len(runs) - 1
        whole = len(runs) == 1
        if digit and (len(text) >= 6 or (edge and len(text) >= 4) or (whole and len(text) % 2 == 0)):
            if len(text) % 2:
                if idx == 0:
                    # Leading odd run: C first, the last digit joins the following B run.
                    add("C", text[:-1])
                    add("B", text[-1])
                    continue
                add("B", text[0])
                text = text[1:]
            add("C", text)
        else:
            add("B", text)
    return out


def symbol_values(payload: str) -> list[int]:
    """Symbol values including start, code switches and check digit (no stop)."""
    values: list[int] = []
    for code, text in segments(payload):
        if not values:
            values.append(START_C if code == "C" else START_B)
        else:
            values.append(CODE_C if code == "C" else CODE_B)
        if code == "C":
            values.extend(int(text[i:i + 2]) for i in range(0, len(text), 2))
        else:
            values.extend(ord(ch) - 32 for ch in text)
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return values + [check]


def modules(payload: str) -> list[int]:
    """The symbol as a run-length list of modules, bar first, without quiet zones."""
    out: list[int] = []
    for v in symbol_values(payload) + [STOP]:
        out.extend(int(c) for c in _PATTERNS[v])
    return out


def total_modules(payload: str, quiet: int = QUIET_MODULES) -> int:
    """Symbol width in modules including both quiet zones."""
    return sum(modules(payload)) + 2 * quiet


def native_data(payload: str) -> bytes:
    """GS k (m=73) data: ``{B``/``{C`` set selections, set C digits packed as byte values."""
    out = bytearray()
    for code, text in segments(payload):
        out += b"{" + code.encode()
        if code == "C":
            out += bytes(int(text[i:i + 2]) for i in range(0, len(text), 2))
        else:
            out += text.replace("{", "{{").encode("ascii")
    return bytes(out)


def parse_native_data(data: bytes) -> str:
    """Inverse of :func:`native_data` for the renderer/decoder (sets A, B, C, FNCs ignored)."""
    text, code, i = [], "B", 0
    while i < len(data):
        b = data[i]
        if b == 0x7B and i + 1 < len(data):  # '{'
            nxt = chr(data[i + 1])
            i += 2
            if nxt in "ABC":
                code = nxt
            elif nxt == "{":
                text.append("{")
            # {S shift and {1..{4 function codes carry no text.
            continue
        if code == "C":
            text.append(f"{b:02d}")
        else:
            text.append(chr(b))
        i += 1
    return "".join(text)
