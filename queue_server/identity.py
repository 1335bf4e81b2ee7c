"""Citizens' ID and phone numbers: checked on entry, masked on every screen, hashed for matching
(phones are also stored encrypted: crypto.py), and struck out of free text bound for logs."""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from hallkit.id_number import id_number_valid

from .errors import bad_request


def clean_id_number(raw: str) -> str:
    value = raw.strip().upper().replace(" ", "")
    if not id_number_valid(value):
        raise bad_request("invalid_id_number", "身份证号码不正确，请核对后重新输入（18位，最后一位可能是X）")
    return value


def age_on(value: str, today: date) -> int | None:
    """Whole years of the person born on the date a GB 11643 number carries (digits 7–14),
    on `today`; None when those digits are not a date (the check character can pass anyway)."""
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if born > today:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def clean_phone(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw.strip())
    if value.startswith("+86"):
        value = value[3:]
    if not re.fullmatch(r"1[3-9]\d{9}", value):
        raise bad_request("invalid_phone", "手机号码不正确，请输入11位手机号码")
    return value


def mask_id(value: str) -> str:
    """110***********1234: the region and the last four, as halls print them."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    return None if not value else value[:3] + "****" + value[-4:]


def id_hash(secret: bytes, value: str) -> str:
    """Keyed, so a leaked table cannot be reversed by hashing all 10^17 possible numbers."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


_PHONE_IN_TEXT = re.compile(r"(?<![\dA-Za-z])(?:\+?86)?(1[3-9]\d{9})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])")


def redact(text: str) -> str:
    """Free text from elsewhere (a gateway's error, an echoed answer) may carry a number we sent:
    mask every ID and mobile number in it before it is logged or stored."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group(1).upper()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(1)) or "", text)
