"""Phone numbers at rest: encrypted with AES-GCM, with a keyed digest where a number is matched.

A stolen database file, backup or dump must not give away citizens' phone numbers, yet the SMS
sender needs the number itself, so it is encrypted (not hashed). Each value is
`v1:<base64(nonce ‖ ciphertext ‖ tag)>`: a fresh random 96-bit nonce per value (two equal
numbers never look alike) and a version prefix naming the key, so a later key can be added and
old values still read (`PhoneKeys.ciphers` maps each version to its key; `current` encrypts).

The keys are derived from the server secret (HALL_SECRET, or the data directory's key file) with
HKDF-SHA256 and a purpose label, so the phone key is never the key that signs rating links or
hashes ID numbers.

Why a column type bound per engine: the ORM writes phones in several modules (issuing,
appointments, SMS invitations), some owned by hot paths that should not know about encryption.
`EncryptedPhone` encrypts on the way into the database and decrypts on the way out, so every
Python object holds the clear number and no code path can forget to encrypt. A column type
only sees the SQL dialect, not the runtime, so `bind(engine, secret)` (called by the app
factory, before the migrations) ties the keys to that engine's dialect object: two apps with
different secrets in one process (tests) keep their own keys, and nothing global is guessed.
An equality filter on an encrypted column can never match (random nonces): match on a digest
column (`phone_digest`) instead.
"""
from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import weakref
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

VERSION = "v1"
NONCE_BYTES = 12
AAD = b"hall phone"                 # a ciphertext taken from another purpose does not decrypt
_SALT = b"hall personal data"
ENCRYPTED_LENGTH = 80               # "v1:" + base64 of 12 + 11 + 16 bytes = 55; room for longer input


class KeyMissing(RuntimeError):
    """Phones read or written through an engine that was never given the server secret."""


class NotEncrypted(ValueError):
    """A stored phone value that is not ours (clear text, a foreign version, or tampered with)."""


def derive(secret: bytes, label: str) -> bytes:
    """A 256-bit key for one purpose, from the server secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=label.encode()).derive(secret)


@dataclass(frozen=True)
class PhoneKeys:
    current: str
    ciphers: dict[str, AESGCM] = field(repr=False)
    digest_key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes) -> PhoneKeys:
        return cls(current=VERSION, ciphers={VERSION: AESGCM(derive(secret, "phone encryption " + VERSION))},
                   digest_key=derive(secret, "phone digest v1"))

    def encrypt(self, value: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.ciphers[self.current].encrypt(nonce, value.encode(), AAD)
        return f"{self.current}:{binascii.b2a_base64(nonce + sealed, newline=False).decode()}"

    def decrypt(self, stored: str) -> str:
        version, sep, body = stored.partition(":")
        cipher = self.ciphers.get(version) if sep else None
        if cipher is None:
            raise NotEncrypted("stored phone value has no known key version")
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], AAD).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise NotEncrypted("stored phone value does not decrypt with this server's secret") from None

    def digest(self, phone: str) -> str:
        """Keyed, so the 10^10 possible mobile numbers cannot simply be hashed and looked up."""
        return hmac.new(self.digest_key, phone.encode(), hashlib.sha256).hexdigest()


def is_encrypted(stored: str | None) -> bool:
    return bool(stored and stored.startswith(VERSION + ":"))


# --- keys per engine ------------------------------------------------------------------------------

_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # dialect object -> PhoneKeys
_by_secret: dict[bytes, PhoneKeys] = {}


def keys_for_secret(secret: bytes) -> PhoneKeys:
    """One PhoneKeys per secret (HKDF and key setup once, not per value)."""
    keys = _by_secret.get(secret)
    if keys is None:
        keys = _by_secret[secret] = PhoneKeys.from_secret(secret)
    return keys


class KeyMismatch(RuntimeError):
    """The database holds phones encrypted under another secret."""


PHONE_TABLES = ("tickets", "appointments", "sms_invitations", "sms_messages")


def bind(engine, secret: bytes) -> PhoneKeys:
    """Phones written and read through `engine` (and its connections) use this secret's keys.

    Checked at once against the newest encrypted phone of each table: a server started with
    another secret (a process of the city without the shared HALL_SECRET, a new data directory)
    stops here with the reason, instead of failing on every ticket with a phone while serving."""
    keys = keys_for_secret(secret)
    _check(engine, keys)
    _keys[engine.dialect] = keys
    return keys


def _check(engine, keys: PhoneKeys) -> None:
    from sqlalchemy import inspect, text

    from .db import READONLY
    with engine.execution_options(**READONLY).connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in PHONE_TABLES:
            if table not in present:
                continue
            stored = conn.execute(text(f"SELECT phone FROM {table} WHERE phone LIKE 'v%:%' "
                                       "ORDER BY id DESC LIMIT 1")).scalar()
            if stored is None:
                continue
            try:
                keys.decrypt(stored)
            except NotEncrypted:
                raise KeyMismatch(f"服务器密钥与数据库中已加密的手机号不符（表 {table}）：所有服务进程须使用同一个"
                                  "HALL_SECRET，或原数据目录中的 secret.key") from None
        conn.rollback()


def keys_for(dialect) -> PhoneKeys:
    keys = _keys.get(dialect)
    if keys is None:
        raise KeyMissing("手机号加密密钥未设置：数据库引擎须经 crypto.bind(engine, secret) 绑定服务器密钥"
                         "（由 create_app 完成）")
    return keys


def phone_digest(secret: bytes, phone: str) -> str:
    return keys_for_secret(secret).digest(phone)


class Phone(str):
    """A decrypted phone number: the full number wherever it is used as text (the SMS sender
    needs it), but its repr — what SQLAlchemy's row logging at DEBUG, debuggers and error
    reports print — is masked, so loading a row never writes the number into a log."""
    __slots__ = ()

    def __repr__(self) -> str:
        return repr(self[:3] + "****" + self[-4:]) if len(self) > 7 else "'****'"


class EncryptedPhone(TypeDecorator):
    """A phone number column: clear in Python (a `Phone`), `v1:…` AES-GCM in the database."""

    impl = String(ENCRYPTED_LENGTH)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keys_for(dialect).encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Phone(keys_for(dialect).decrypt(value))


# --- migrations: existing rows ----------------------------------------------------------------------

def seal_column(conn, table: str, column: str, digest_column: str | None = None, chunk: int = 1000) -> int:
    """Encrypt the clear phone numbers of `table.column` in place (and fill their digest), in
    id order, `chunk` rows at a time. Values already encrypted are left alone, so a re-run
    after an interruption is harmless. The keys are the ones bound to this connection's engine;
    without them (an `alembic` run by hand) rows with a phone stop the migration."""
    return _rewrite(conn, table, column, digest_column, chunk, seal=True)


def open_column(conn, table: str, column: str, chunk: int = 1000) -> int:
    """The reverse, for a downgrade: decrypt `table.column` back to clear text."""
    return _rewrite(conn, table, column, None, chunk, seal=False)


def _rewrite(conn, table: str, column: str, digest_column: str | None, chunk: int, *, seal: bool) -> int:
    from sqlalchemy import bindparam, column as col, select, table as tbl
    cols: list = [col("id"), col(column)] + ([col(digest_column)] if digest_column else [])
    t = tbl(table, *cols)
    values: dict = {column: bindparam("_value")}
    if digest_column:
        values[digest_column] = bindparam("_digest")
    update = t.update().where(t.c.id == bindparam("_id")).values(values)
    keys, last, done = None, None, 0
    while True:
        query = select(t.c.id, t.c[column]).where(t.c[column].is_not(None)).order_by(t.c.id).limit(chunk)
        rows = conn.execute(query if last is None else query.where(t.c.id > last)).all()
        if not rows:
            return done
        last = rows[-1][0]
        todo = [(row_id, value) for row_id, value in rows if is_encrypted(value) != seal]
        if not todo:
            continue
        keys = keys or keys_for(conn.dialect)
        params = []
        for row_id, value in todo:
            item = {"_id": row_id, "_value": keys.encrypt(value) if seal else keys.decrypt(value)}
            if digest_column:
                item["_digest"] = keys.digest(value)
            params.append(item)
        conn.execute(update, params)
        done += len(params)
