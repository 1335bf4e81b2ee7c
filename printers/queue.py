"""The print queue: slips print in order on a worker thread, never blocking the kiosk.

Rules, in order of importance:

* A slip is never printed twice by accident. The queue re-sends a job only while it knows
  none of it reached the printer (the printer was not ready, so nothing was written). Once
  writing has started, only an explicit reprint sends it again: a half-printed slip plus a
  retry would hand out two.
* Three outcomes, never a wrong one: ``printed`` (every byte taken and the printer said it
  is fine after), ``unconfirmed`` (every byte taken, then the printer did not answer or
  reported a problem: the slip is probably on paper, the citizen should look before a
  reprint), ``failed`` (not all of it reached the printer; the rest is thrown away, so a
  printer that resumes later never prints it after the screen said it failed).
* A printer that is out of paper, offline or silent holds the job and is asked again with
  backoff; ``printer.alert`` is emitted once per new problem and ``printer.ok`` on recovery.
* A printer that hangs cannot stall the queue: every connector call is bounded by a
  timeout, after which the connection is dropped and reopened for the next job.
* Memory is bounded: finished jobs beyond ``keep_finished`` are forgotten, oldest first.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Sequence

from .connectors import Connector, PrinterError, PrinterUnconfirmed, connect
from .status import PrinterState, PrinterStatus

log = logging.getLogger(__name__)

EventCallback = Callable[[str, dict[str, Any]], None]


class JobState(str, Enum):
    QUEUED = "queued"
    PRINTING = "printing"
    PRINTED = "printed"
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"


FINISHED = (JobState.PRINTED, JobState.UNCONFIRMED, JobState.FAILED)


class QueueFull(PrinterError):
    pass


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of one job (the latest print of that id)."""

    job_id: str
    state: JobState
    reprint: bool
    attempts: int          # status checks made before it could print
    error: str
    submitted_at: float
    finished_at: float | None
    size: int

    @property
    def done(self) -> bool:
        return self.state in FINISHED


class _Job:
    __slots__ = ("job_id", "data", "reprint", "state", "attempts", "error", "submitted_at",
                 "finished_at")

    def __init__(self, job_id: str, data: bytes, reprint: bool) -> None:
        self.job_id, self.data, self.reprint = job_id, data, reprint
        self.state, self.attempts, self.error = JobState.QUEUED, 0, ""
        self.submitted_at, self.finished_at = time.time(), None

    def info(self) -> JobInfo:
        return JobInfo(self.job_id, self.state, self.reprint, self.attempts, self.error,
                       self.submitted_at, self.finished_at, len(self.data))


class PrintQueue:
    """One printer's queue.

    ``printer`` is a connector, a printer URL, or a zero-argument factory returning a fresh
    connector (called again after every dropped connection). ``on_event(name, payload)``
    receives ``job.queued`` (from the submitting thread), then ``job.printing``,
    ``job.printed``, ``job.unconfirmed``, ``job.failed``, ``printer.alert`` and ``printer.ok``
    (from the worker thread); it should return quickly, and its exceptions are logged, never raised.
    """

    def __init__(self, printer: Connector | str | Callable[[], Connector], *,
                 on_event: EventCallback | None = None,
                 retry_delays: Sequence[float] = (0.5, 1, 2, 5, 10, 30),
                 give_up_after: float | None = 600.0,
                 keep_finished: int = 200, max_pending: int = 500) -> None:
        if isinstance(printer, str):
            printer = connect(printer)
        if isinstance(printer, Connector) or hasattr(printer, "write"):
            self._factory, self._conn = None, printer
        elif callable(printer):
            self._factory, self._conn = printer, None
        else:
            raise TypeError("printer 应为打印机地址、连接对象或返回连接对象的函数")
        if not retry_delays:
            raise ValueError("retry_delays 不能为空")
        self.on_event = on_event
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self.give_up_after = give_up_after
        self.keep_finished, self.max_pending = keep_finished, max_pending
        self._jobs: dict[str, _Job] = {}
        self._pending: deque[_Job] = deque()
        self._finished: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._closing = False
        self._alert_state: PrinterState | None = None
        self.last_status: PrinterStatus | None = None
        self._probes_asked = self._probes_done = 0
        self._thread = threading.Thread(target=self._run, name="print-queue", daemon=True)
        self._thread.start()

    # --- caller side ---------------------------------------------------------------------

    def submit(self, job_id: str, data: bytes, *, reprint: bool = False) -> JobInfo:
        """Queue ``data`` under ``job_id`` and return at once.

        The same id again is ignored (a double tap or a retried request must not print two
        slips) unless ``reprint=True``; a reprint of a job still waiting is also ignored,
        since the waiting one will print.
        """
        if not job_id:
            raise ValueError("打印任务编号不能为空")
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise ValueError("打印数据为空")
        with self._lock:
            if self._closing:
                raise PrinterError("打印队列已关闭")
            old = self._jobs.get(job_id)
            if old is not None and (not reprint or old.state in (JobState.QUEUED, JobState.PRINTING)):
                return old.info()
            if len(self._pending) >= self.max_pending:
                raise QueueFull(f"打印队列已满（{self.max_pending} 张待打印），请检查打印机")
            job = _Job(job_id, bytes(data), reprint)
            self._jobs[job_id] = job
            self._pending.append(job)
            self._changed.notify_all()
            info = job.info()
        self._emit("job.queued", self._payload(job))
        return info

    def reprint(self, job_id: str, data: bytes | None = None) -> JobInfo:
        """Print a job again: with ``data`` (e.g. the slip rebuilt with ``reprint=True`` so it
        carries 【补打】) or, without, the bytes kept from its last print."""
        if data is None:
            with self._lock:
                old = self._jobs.get(job_id)
            if old is None:
                raise KeyError(f"打印任务 {job_id} 已不在队列记录中，请重新生成告知单后补打")
            data = old.data
        return self.submit(job_id, data, reprint=True)

    def job(self, job_id: str) -> JobInfo | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.info() if job else None

    def state(self, job_id: str) -> JobState | None:
        info = self.job(job_id)
        return info.state if info else None

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo | None:
        """Block until the job printed or failed (for tests and CLI tools, not the kiosk)."""
        with self._changed:
            self._changed.wait_for(
                lambda: job_id not in self._jobs
                or self._jobs[job_id].state in FINISHED,
                timeout)
            job = self._jobs.get(job_id)
            return job.info() if job else None

    def probe(self, timeout: float = 10.0) -> PrinterStatus | None:
        """Ask the printer now, on the worker's own connection (a serial port has room for
        one), so a problem that cleared by itself is seen without waiting for the next slip.
        None when jobs are waiting (they ask anyway) or no answer came within ``timeout``."""
        with self._changed:
            if self._pending or self._closing:
                return None
            self._probes_asked += 1
            asked = self._probes_asked
            self._changed.notify_all()
            done = self._changed.wait_for(lambda: self._probes_done >= asked or self._closing, timeout)
            return self.last_status if done and self._probes_done >= asked else None

    def pending(self) -> int:
        """Jobs not yet finished, the one printing included."""
        with self._lock:
            return len(self._pending)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker; jobs still queued stay queued (and are lost with the process:
        tickets are committed first, so they can be reprinted)."""
        with self._lock:
            self._closing = True
            self._changed.notify_all()
        self._wake.set()
        self._thread.join(timeout)
        self._drop_connection()

    def __enter__(self) -> "PrintQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- worker side ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closing
                                       or self._probes_asked > self._probes_done)
                if self._closing:
                    return
                job = self._pending[0] if self._pending else None
                asked = self._probes_asked
            if job is None:
                self._answer_probe(asked)
                continue
            try:
                self._print(job)
            except Exception as e:  # a bug must not kill the only printing thread
                log.exception("打印任务 %s 异常", job.job_id)
                self._finish(job, JobState.FAILED, f"内部错误：{e}")
            with self._lock:
                if job.state in FINISHED and self._pending \
                        and self._pending[0] is job:
                    self._pending.popleft()

    def _answer_probe(self, asked: int) -> None:
        try:
            self._ready()
        except Exception:  # a bug must not kill the only printing thread
            log.exception("打印机状态查询异常")
        with self._changed:
            self._probes_done = asked
            self._changed.notify_all()

    def _connector(self) -> Connector:
        if self._conn is None:
            self._conn = self._factory()
        return self._conn

    def _drop_connection(self) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.exception("关闭打印机连接出错")
        if self._factory is not None:
            self._conn = None

    def _ready(self) -> PrinterStatus:
        """Open the connection and ask the printer; nothing of the job is sent here."""
        try:
            conn = self._connector()
            conn.open()
            status = conn.status()
        except PrinterError as e:
            status = PrinterStatus(PrinterState.OFFLINE, str(e))
        except Exception as e:  # a factory or driver failing in an unexpected way
            log.exception("打印机状态查询异常")
            status = PrinterStatus.unknown(str(e))
        if status.state == PrinterState.UNKNOWN:
            self._drop_connection()  # no answer: the link itself may be stale, reconnect
        self._note(status)
        return status

    def _print(self, job: _Job) -> None:
        started = time.monotonic()
        while True:
            status = self._ready()
            if status.can_print:
                break
            delay = self.retry_delays[min(job.attempts, len(self.retry_delays) - 1)]
            job.attempts += 1
            if self.give_up_after is not None and time.monotonic() - started >= self.give_up_after:
                self._finish(job, JobState.FAILED, f"等待打印机超时：{status.message}")
                return
            log.debug("打印任务 %s 等待打印机：%s，%.1f 秒后重试", job.job_id, status.message, delay)
            if self._sleep(delay):
                return
        self._set(job, JobState.PRINTING)
        try:
            self._connector().write(job.data, job_id=job.job_id)
        except PrinterUnconfirmed as e:
            self._drop_connection()
            self._note(PrinterStatus.unknown(str(e)))
            self._finish(job, JobState.UNCONFIRMED, f"告知单已全部送出，但打印机未确认打印完成：{e}")
            return
        except PrinterError as e:
            # The connector dropped the unsent rest; what reached the printer may be on
            # paper, so no retry: only an explicit reprint sends it again.
            self._drop_connection()
            self._note(PrinterStatus.unknown(str(e)))
            self._finish(job, JobState.FAILED, str(e))
            return
        after = self._ready()
        if after.can_print:
            self._finish(job, JobState.PRINTED)
        else:
            self._finish(job, JobState.UNCONFIRMED,
                         f"告知单已全部送出，但打印机未确认打印完成：{after.message}")

    def _sleep(self, seconds: float) -> bool:
        """Wait between retries; True when the queue is closing."""
        self._wake.wait(seconds)
        return self._closing

    def _note(self, status: PrinterStatus) -> None:
        """Emit an alert when the printer's problem changes, ``printer.ok`` when it clears."""
        self.last_status = status
        url = getattr(self._conn, "url", "")
        if status.state == PrinterState.OK:
            if self._alert_state is not None:
                self._alert_state = None
                self._emit("printer.ok", {"printer": url, "message": status.message})
        elif status.state != self._alert_state:
            self._alert_state = status.state
            log.warning("打印机 %s：%s", url, status.message)
            self._emit("printer.alert", {"printer": url, "state": status.state.value,
                                         "message": status.message,
                                         "can_print": status.can_print, "pending": self.pending()})

    def _set(self, job: _Job, state: JobState, error: str = "") -> None:
        with self._changed:
            job.state, job.error = state, error
            if state in FINISHED:
                job.finished_at = time.time()
                self._finished.append(job)
                while len(self._finished) > self.keep_finished:
                    old = self._finished.popleft()
                    if self._jobs.get(old.job_id) is old:
                        del self._jobs[old.job_id]
            self._changed.notify_all()
        self._emit(f"job.{state.value}", self._payload(job))

    def _finish(self, job: _Job, state: JobState, error: str = "") -> None:
        if error:
            log.warning("打印任务 %s %s：%s", job.job_id, state.value, error)
        self._set(job, state, error)

    def _payload(self, job: _Job) -> dict[str, Any]:
        return {"job_id": job.job_id, "state": job.state.value, "reprint": job.reprint,
                "attempts": job.attempts, "error": job.error,
                "printer": getattr(self._conn, "url", "")}

    def _emit(self, name: str, payload: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(name, payload)
        except Exception:
            log.exception("打印事件回调 %s 出错", name)


def print_once(printer: Connector | str, job_id: str, data: bytes, *, ready_within: float,
               wait: float) -> JobInfo | None:
    """One paper on a printer this process does not otherwise queue for (a desk, a command):
    wait up to `ready_within` seconds for it to be ready, then up to `wait` more for the bytes to
    go out; the job's outcome (None: still not finished by then)."""
    with PrintQueue(printer, retry_delays=(0.5, 1, 2), give_up_after=ready_within) as queue:
        queue.submit(job_id, data)
        return queue.wait(job_id, ready_within + wait)
