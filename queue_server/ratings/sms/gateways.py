"""SMS gateways, chosen by the hall's `sms_gateway` URL:

- `outbox:` — nothing leaves the server; messages stay in the outbox table, listed in the admin
  page (the default, and what a hall without an SMS contract uses);
- `http://…` / `https://…` — a provider's HTTP API: POST JSON `{phone, text, ref}` with an
  `Idempotency-Key: ref` header, answer JSON with `message_id` (or `id`/`msgid`);
- `smpp://system_id:password@host:port?source=106…&system_type=…` — an SMSC over SMPP 3.4.

`idempotent` says whether sending the same `ref` twice can reach the phone twice: the outbox
and the HTTP gateway (which passes `ref` for the provider to deduplicate) may be retried after a
crash; SMPP has no such key, so an interrupted SMPP send is never repeated automatically.
"""
from __future__ import annotations

import json
import time
import zlib
import urllib.error
import urllib.request
from urllib.parse import parse_qs, unquote, urlsplit

from ...identity import redact
from .smpp import PERMANENT, SmppClient, SmppError

HTTP_TIMEOUT = 10.0
ENQUIRE_IDLE = 30.0   # an SMPP session idle this long is checked with enquire_link before use


class GatewayError(Exception):
    """A send that failed. `retryable` False when trying again cannot help; `ambiguous` when the
    text may have reached the provider anyway (an answer lost, a part of a long text accepted)."""

    def __init__(self, message: str, retryable: bool = True, ambiguous: bool = False):
        super().__init__(message)
        self.retryable, self.ambiguous = retryable, ambiguous


class OutboxGateway:
    scheme, idempotent = "outbox", True

    def send(self, phone: str, text: str, ref: str) -> str:
        return f"outbox:{ref}"

    def close(self) -> None:
        pass


class HttpGateway:
    scheme, idempotent = "http", True

    def __init__(self, url: str, timeout: float = HTTP_TIMEOUT):
        self.url, self.timeout = url, timeout

    def send(self, phone: str, text: str, ref: str) -> str:
        body = json.dumps({"phone": phone, "text": text, "ref": ref}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": ref})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            retryable = exc.code >= 500 or exc.code in (408, 429)
            raise GatewayError(f"短信平台返回 HTTP {exc.code}", retryable) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GatewayError(f"连接短信平台失败：{exc}") from None
        except ValueError:
            raise GatewayError("短信平台的回应不是 JSON") from None
        message_id = next((str(answer[k]) for k in ("message_id", "id", "msgid") if answer.get(k)), "")
        if not message_id:
            raise GatewayError(f"短信平台没有返回消息编号：{redact(str(answer))[:200]}")
        return message_id

    def close(self) -> None:
        pass


class SmppGateway:
    scheme, idempotent = "smpp", False

    def __init__(self, url: str):
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.options = dict(host=parts.hostname or "127.0.0.1", port=parts.port or 2775,
                            system_id=unquote(parts.username or ""), password=unquote(parts.password or ""),
                            system_type=query.get("system_type", ""), source=query.get("source", ""),
                            source_ton=int(query.get("source_ton", 0)), source_npi=int(query.get("source_npi", 1)),
                            dest_ton=int(query.get("dest_ton", 0)), dest_npi=int(query.get("dest_npi", 1)),
                            timeout=float(query.get("timeout", HTTP_TIMEOUT)))
        self.dest_prefix = query.get("dest_prefix", "")
        self.client: SmppClient | None = None

    def _session(self) -> SmppClient:
        if self.client is not None and self.client.sock is not None:
            if time.monotonic() - self.client.last_used < ENQUIRE_IDLE:
                return self.client
            try:
                self.client.enquire_link()
                return self.client
            except (SmppError, OSError):
                self.client.close()
        self.client = SmppClient(**self.options)
        self.client.connect()
        return self.client

    def send(self, phone: str, text: str, ref: str) -> str:
        reference = zlib.crc32(ref.encode()) & 0xFF
        try:
            return ",".join(self._session().submit(self.dest_prefix + phone, text, reference))
        except (SmppError, OSError) as exc:
            status = getattr(exc, "status", None)
            ambiguous = self.client is not None and self.client.maybe_delivered()
            if status is None and self.client is not None:
                self.client.close()  # a broken session: the next send binds again
            words = str(exc) if isinstance(exc, SmppError) else f"连接短信中心失败：{exc}"
            raise GatewayError(words, status not in PERMANENT, ambiguous) from None

    def close(self) -> None:
        if self.client is not None and self.client.sock is not None:
            try:
                self.client.unbind()
            except (SmppError, OSError):
                self.client.close()
        self.client = None


def gateway_for(url: str):
    scheme = urlsplit(url).scheme.lower()
    if url.strip() in ("outbox:", "outbox") or scheme == "outbox":
        return OutboxGateway()
    if scheme in ("http", "https"):
        return HttpGateway(url)
    if scheme == "smpp":
        return SmppGateway(url)
    raise ValueError(f"不支持的短信网关地址：{url}（支持 outbox:、http(s)://、smpp://）")
