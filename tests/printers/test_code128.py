"""Our CODE128 encoder against an independent reader (zxing-cpp)."""
from __future__ import annotations

import random
import string

import pytest
import zxingcpp
from PIL import Image

from printers import code128
from printers.escpos import barcode_image


def read(img: Image.Image) -> list[str]:
    framed = Image.new("L", (img.width + 40, img.height + 40), 255)
    framed.paste(img.convert("L"), (20, 20))
    return [r.text for r in zxingcpp.read_barcodes(framed, formats=zxingcpp.BarcodeFormat.Code128)]


def test_patterns_are_well_formed():
    assert len(code128._PATTERNS) == 107 and len(set(code128._PATTERNS)) == 107
    assert all(sum(map(int, p)) == 11 for p in code128._PATTERNS[:106])
    assert sum(map(int, code128._PATTERNS[106])) == 13


@pytest.mark.parametrize("payload", ["371102202406110012", "RZ20240611-A012", "A012", "1",
                                     "12345", "X{y}~", " !\"#$%&'()*+,-./", "0" * 30])
def test_known_payloads_scan(payload):
    assert read(barcode_image(payload, module=2)) == [payload]


def test_every_symbol_value_scans():
    # Printable ASCII covers values 0..94 in set B; digit pairs cover 0..99 in set C.
    b = "".join(chr(c) for c in range(32, 127))
    for chunk in (b[i:i + 20] for i in range(0, len(b), 20)):
        assert read(barcode_image(chunk, module=2)) == [chunk]
    digits = "".join(f"{v:02d}" for v in range(100))
    for i in range(0, 200, 40):
        assert read(barcode_image(digits[i:i + 40], module=2)) == [digits[i:i + 40]]


@pytest.mark.parametrize("seed", range(40))
def test_random_payloads_scan_and_round_trip_native(seed):
    rng = random.Random(seed)
    payload = "".join(rng.choice(string.digits * 3 + string.ascii_uppercase + "-{") for _ in range(rng.randint(1, 24)))
    assert read(barcode_image(payload, module=2)) == [payload]
    assert code128.parse_native_data(code128.native_data(payload)) == payload


def test_digit_runs_use_set_c():
    assert code128.segments("371102202406110012") == [("C", "371102202406110012")]
    assert code128.segments("RZ20240611-A012") == [("B", "RZ"), ("C", "20240611"), ("B", "-A012")]
    assert code128.native_data("RZ20240611-A012") == b"{BRZ{C\x14\x18\x06\x0b{B-A012"
    # Set C halves the width of a numeric id.
    assert code128.total_modules("371102202406110012") < code128.total_modules("A71102202406110012")


def test_only_printable_ascii():
    for bad in ["", "编号", "A\n1", "é"]:
        with pytest.raises(ValueError):
            code128.segments(bad)
