"""The shape of every thing the server says: tickets, cases, windows, ratings, and each event.

One declared type per thing. The answers and the events are built by calling these types
(`shapes.py`, `ratings/shapes.py`, …), the OpenAPI document's component schemas are generated
from them (`openapi.py`), and the tests validate every event a hall's day publishes against
its type (`EVENTS`).

They are TypedDicts, checked and described by pydantic (`TypeAdapter`). Calling a TypedDict
builds a plain dict, so the hot path pays nothing: a pydantic model built with
`model_construct` and turned back into a dict with `model_dump` cost 40 µs for a 25-field
ticket (a dict 3 µs), and an operation sends a ticket, a window and a case. Validation runs
where it is worth its time: in the tests, on every event of every test app (conftest.py).

`NotRequired` keys are there only in some answers, each saying which; everything else is
always there (null when it has no value). Extra keys are refused: a key an answer or event
carries is a key declared here.
"""
from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field, TypeAdapter, WithJsonSchema
from typing_extensions import NotRequired, TypedDict

When = Annotated[Union[str, None], WithJsonSchema({"type": ["string", "null"], "format": "date-time"})]
Id = Annotated[int, Field(ge=1)]
STRICT = ConfigDict(extra="forbid")
# Words a column holds as a plain string; a builder says which with typing.cast.
AppealStatus = Literal["pending", "upheld", "rejected"]
WarningLevel = Literal["yellow", "red"]
DeviceState = Literal["online", "offline", "never", "revoked"]
VoidKind = Literal["appeal", "superseded", "duplicate"]


def said(description: str) -> Any:
    """The sentence the OpenAPI document says about a field: `Annotated[type, said("…")]`."""
    return Field(description=description)


class Shape(TypedDict):
    pass


# Set outside the class body so a type checker does not take it for a key; pydantic finds it
# on the base of every shape.
Shape.__pydantic_config__ = STRICT  # type: ignore[attr-defined]


# --- the hall's furniture --------------------------------------------------------------------

class WindowBrief(Shape):
    """Which window: in a ticket, a case, a rating, a transfer."""
    id: Id
    number: int
    name: str


class WindowState(WindowBrief):
    """A window and its state: in every event about a window."""
    state: Annotated[Literal["open", "paused", "closed"], said("closed: nobody signed in (未开放, staffing.py)")]


class StaffBrief(Shape):
    """The clerk who served (工号 `staff_no`)."""
    id: NotRequired[Id]   # not in a window's answer: the TV and LED strips name the clerk, not the account
    name: str
    staff_no: str | None


class HallBrief(Shape):
    code: str
    name: str


class Named(Shape):
    id: Id
    name: str


class MatterBrief(Named):
    code: str


class Waiting(Shape):
    """Waiting tickets by prefix, matter, department and window (shapes.waiting_counts)."""
    total: int
    by_prefix: dict[str, int]
    by_matter: dict[str, int]
    by_department: dict[str, int]
    by_window: dict[str, int]


# --- tickets and cases -----------------------------------------------------------------------

TicketStatus = Literal["waiting", "called", "serving", "done", "skipped", "unserved"]
CaseStatus = Literal["correction", "accepted", "finished", "refused"]


class Case(Shape):
    """A case (办件), wherever it is shown: window answers, the case desk, events, rating pages."""
    id: Id
    number: str
    ticket_id: Id | None
    matter_id: Id
    matter_name: str
    kind: str
    department_id: Id | None
    window_id: Id | None
    window: WindowBrief | None
    window_number: int | None
    staff: StaffBrief | None
    staff_name: str | None
    status: CaseStatus
    status_text: str
    received_at: When
    accepted_at: When
    due_at: When
    due_guessed: Annotated[bool, said("counted Monday–Friday through a year the working-day calendar lacks; "
                            "counted again when the server starts with that year added")]
    finished_at: When
    on_time: bool | None
    promised_days: int | None
    missing: list[str]
    reason: str | None
    delivered_at: When
    delivery: str | None
    delivery_note: str | None
    # the case desk (and its events), suspensions and the rating pages: the clock stopped (不计时)?
    suspended: NotRequired[bool]
    suspension_reason: NotRequired[str | None]   # the progress page (GET /ratings/web/<code>): why
    # the case desk and its events: 红黄灯, and what may be done with it now (lifecycle.py)
    light: NotRequired[Literal["red", "yellow", "green"] | None]
    actions: NotRequired[Annotated[list[str], said("on the case desk: what may be done now (lifecycle.py)")]]
    # a rating device's answer (GET /ratings/device): can it be rated there now?
    ticket_number: NotRequired[str | None]
    finished: NotRequired[bool]
    rated: NotRequired[bool]
    rating: NotRequired[Rating | None]


class SlipCodes(Shape):
    """What only the slip carries (shapes.slip_codes): added to a ticket where README says."""
    query_code: str
    ballot_code: str | None


class Ticket(Shape):
    """A ticket (号票), wherever it is shown: events, snapshots, windows, the kiosk, look-ups."""
    id: Id
    number: str
    matter_id: Id
    matter_name: str
    department_id: Id
    status: TicketStatus
    status_text: str
    actions: Annotated[list[str], said("what a clerk may do with it now (lifecycle.py)")]
    kind: str
    priority: str | None
    priority_label: str | None
    issued_at: When
    called_at: When
    closed_at: When
    call_count: int
    window: WindowBrief | None
    target_window_id: Id | None
    window_ids: list[int]
    requeued: bool
    phone: NotRequired[Annotated[str | None, said("masked; staff and devices of the hall only")]]
    id_number: NotRequired[Annotated[str | None, said("masked; staff and devices of the hall only")]]
    appointment_code: str | None
    age: NotRequired[int]              # 老年人 priority with an ID number: the clerk sees it
    waiting_ahead: NotRequired[int]    # issued and read tickets: 前面还有 N 人
    # the slip's codes: only in the kiosk's issuing answer and a read by query code (README)
    query_code: NotRequired[Annotated[str, said("the slip's query code: only in the kiosk's issuing answer and when the "
                                      "ticket is read by its query code; never in events, snapshots, window "
                                      "answers or reads by id")]]
    ballot_code: NotRequired[Annotated[str | None, said("the slip's barcode (16 random digits, scanned in 投箱评议): only "
                                              "in the kiosk's issuing answer; null for tickets issued before "
                                              "ballot codes")]]
    case: NotRequired[Case | None]     # a window's current ticket: the case it is being served in
    hall: NotRequired[HallBrief]       # a ticket read by id or query code: whose hall


class Window(Shape):
    """A window as the screens see it: its state, clerk, current ticket and waiting count."""
    id: Id
    number: int
    name: str
    state: Literal["open", "paused", "closed"]
    department: str | None
    staff: StaffBrief | None
    current: Ticket | None
    waiting: NotRequired[int]
    window_seq: NotRequired[int]   # in a snapshot: the window's event number


class RecentCall(Shape):
    type: Literal["ticket.called", "ticket.recalled"]
    at: When
    ticket_number: str
    window_number: int
    window_name: str
    recall: bool


class Snapshot(Shape):
    """What a screen starts from (GET /queue, the `snapshot` on /hall)."""
    hall: HallBrief
    seq: int
    at: When
    day: str
    waiting: Waiting
    windows: list[Window]
    recent_calls: list[RecentCall]
    scope: NotRequired[dict[str, Any]]   # a device bound to one window: {window_id, window_seq}


# --- ratings ---------------------------------------------------------------------------------

class RatedWhere(Shape):
    """Whose service a rating is about."""
    matter: MatterBrief | None
    window: WindowBrief | None
    staff: StaffBrief | None
    department: Named | None


class Rating(RatedWhere):
    """A rating (好差评), in the lists, the events and the rating pages."""
    id: Id
    case_id: Id
    case_number: str | None
    ticket_id: Id | None
    channel: str
    channel_word: str
    level: Annotated[int, Field(ge=1, le=5)]
    level_word: str
    bad: bool
    node: str
    node_word: str
    tags: list[str]
    comment: str | None
    rated_at: When
    is_default: bool
    voided: bool
    void_reason: str | None
    voided_at: When
    void_kind: Annotated[VoidKind | None, said("why voided: 申诉成立, a default replaced by the citizen's rating, a duplicate found "
                    "when 一事一评 came in")]
    void_word: str | None
    follow_up_id: Id | None


class RatedBrief(RatedWhere):
    level: int
    level_word: str
    channel: str
    channel_word: str
    tags: list[str]
    comment: str | None
    rated_at: When


class FollowUpStep(Shape):
    stage: str
    stage_word: str
    note: str | None
    actor: str | None
    at: When


class FollowUp(Shape):
    """A bad rating's 核实 → 整改 → 回访."""
    id: Id
    rating_id: Id
    case_id: Id
    case_number: str | None
    department: Named | None
    stage: str
    stage_word: str
    open: bool
    opened_at: When
    due_at: When
    due_guessed: bool
    closed_at: When
    overdue: bool
    fix_rating: str | None
    rating: RatedBrief | None
    steps: list[FollowUpStep]


class Appeal(Shape):
    id: Id
    rating_id: Id
    reason: str
    filed_by: str | None
    filed_at: When
    status: AppealStatus
    status_word: str
    decided_by: str | None
    decided_at: When
    decision_note: str | None
    rating: Rating | None


class LevelCount(Shape):
    level: int
    word: str
    count: int


class SlipRefusal(Shape):
    code: str
    reason: str
    message: str | None
    at: When


class SlipBatch(Shape):
    """A batch of 投箱评议 slips and its tally."""
    id: Id
    opened_by: str | None
    opened_at: When
    closed_at: When
    rated: int
    counts: list[LevelCount]
    refused: list[SlipRefusal]


# --- supervision, appointments, devices ------------------------------------------------------

class Suspension(Shape):
    id: Id
    case_id: Id
    reason: str
    started_at: When
    started_by: str | None
    ended_at: When
    ended_by: str | None
    stopped_seconds: int | None
    due_before: When
    due_after: When


# --- the supervisor's figures (supervision/stats.py, live.py) ---------------------------------

Rate = Annotated[Union[float, None], said("percent, two decimals; null when there is nothing to divide by")]
Seconds = Annotated[Union[float, None], said("seconds; null without cases")]


class Figures(Shape):
    """The figures of a period, for the hall or one group: the dashboard, the report and the
    exports read the same ones (formulas: `Stats.formulas`)."""
    accepted: Annotated[int, said("办件 accepted (受理) in the period")]
    immediate: Annotated[int, said("of them 即办件")]
    immediate_rate: Rate
    finished: int
    on_time: int
    late: int
    on_time_rate: Rate
    ratings: Annotated[int, said("有效评价: not voided, not default")]
    levels: Annotated[dict[str, int], said("有效评价 by level, '1'…'5'")]
    good: int
    bad: int
    satisfied: int
    satisfaction_rate: Rate
    good_rate: Rate
    bad_rate: Rate
    defaults: int
    good_rate_with_defaults: Rate
    rated_cases: int
    voided: int
    voided_by: dict[str, int]
    channels: Annotated[dict[str, int], said("ratings not voided, by channel")]
    waited: int
    wait_avg: Seconds
    wait_p90: Seconds
    served: int
    service_avg: Seconds
    service_p90: Seconds


class StatsGroup(Figures):
    key: Annotated[Union[int, None], said("the department, window, staff or matter id; null: 未指定")]
    name: str


class Formula(Shape):
    name: str
    formula: str


Stats = TypedDict("Stats", {
    "from": str, "to": str, "totals": Figures, "formulas": list[Formula],
    "channel_words": dict[str, str], "level_words": dict[str, str], "void_words": dict[str, str],
    "by": NotRequired[Literal["department", "window", "staff", "matter"]], "by_word": NotRequired[str],
    "groups": NotRequired[list[StatsGroup]],
})
Stats.__doc__ = "GET /supervision/stats: the period's figures, and by group when asked."
Stats.__pydantic_config__ = STRICT  # type: ignore[attr-defined]


class LiveWindow(Shape):
    id: Id
    number: int
    name: str
    state: Literal["open", "paused", "closed"]
    ticket: str | None
    ticket_status: str | None
    since: When


class LongestWait(Shape):
    ticket: str
    issued_at: When
    seconds: int


class WarningCounts(Shape):
    yellow: int
    red: int


class Live(Shape):
    """GET /supervision/live: today in the hall, refreshed on every hall event."""
    at: When
    waiting: int
    issued: int
    finished: int
    accepted: int
    skipped: int
    unserved: Annotated[int, said("未办理: still waiting or called when the day closed")]
    serving: int
    called: int
    paused: Annotated[list[int], said("window numbers")]
    closed: Annotated[list[int], said("window numbers nobody is signed in at (未开放)")]
    longest_wait: LongestWait | None
    warnings: WarningCounts
    windows: list[LiveWindow]
    calendar_missing_years: NotRequired[Annotated[list[int], said("years the working-day calendar lacks")]]


class CaseLineRating(Shape):
    id: Id
    channel: str
    channel_word: str
    level: int
    level_word: str
    is_default: bool
    voided: bool
    node: str


class CaseLine(Shape):
    """A case as one line of the supervisor's drill-down and the 办件 export (stats.drill_cases):
    flat, one column each, with the visit's times; not the case desk's `Case`."""
    id: Id
    number: str
    ticket_number: str | None
    kind: str
    matter_name: str
    department: str | None
    window_number: int | None
    staff_name: str | None
    status: str
    issued_at: When
    called_at: When
    accepted_at: When
    due_at: When
    due_guessed: bool
    finished_at: When
    on_time: Annotated[bool | None, said("null while open or without a due date")]
    wait_seconds: Annotated[float | None, said("issued → called")]
    service_seconds: Annotated[float | None, said("called (or accepted) → finished; null while open")]
    ratings: list[CaseLineRating]


class Warning(Shape):
    """A supervision warning (时限预警): 黄 before the limit, 红 past it."""
    id: Id
    kind: str
    level: WarningLevel
    level_word: str
    case_id: Id
    case_number: str | None
    case_status: str | None
    matter_name: str | None
    window: WindowBrief | None
    department: str | None
    follow_up_id: Id | None
    due_at: When
    raised_at: When
    resolved_at: When
    open: bool
    message: str


class Appointment(Shape):
    code: str
    status: str
    status_label: str
    matter_id: Id
    matter_name: str | None
    id_number: str | None
    phone: str | None
    slot_start: When
    slot_end: When
    checkin_from: When
    checkin_until: When
    ticket: dict[str, Any] | None
    created_at: When
    cancelled_at: When


class DeviceBrief(Shape):
    id: Id
    name: str
    kind: str
    kind_name: str
    window: WindowBrief | None


class Device(DeviceBrief):
    """A device as the admin's revoke and new-token answers give it."""
    revoked: bool


class DeviceAlert(Shape):
    code: Annotated[str, said("quiet (no heartbeat), or status:<part> for a part the device reported unwell")]
    message: str
    since: When


class DeviceListed(Device):
    """A device in the admin's list (devices.Registry.listing)."""
    state: Annotated[DeviceState, said("never: no heartbeat since the server started")]
    online: bool
    last_seen_at: When
    seconds_since_seen: int | None
    status: Annotated[dict[str, Any], said("what the device last reported in its heartbeat")]
    alerts: list[DeviceAlert]


# --- who is calling, and a refusal -----------------------------------------------------------

class Principal(Shape):
    """GET /me: the staff member or device a token stands for."""
    kind: Literal["staff", "device"]
    role: str
    name: str
    hall_id: Id
    staff_id: int | None
    device_id: int | None
    window_ids: list[int]
    expires_in: NotRequired[Annotated[int | None, said("staff only: seconds the token still lives")]]
    printer: NotRequired[Annotated[str | None, said("devices only: the printer the hall config gives a kiosk")]]


class ErrorBody(Shape):
    code: Annotated[str, said("A stable code for programs (openapi.ERROR_CODES lists them; the list is not closed)")]
    message: Annotated[str, Field(min_length=1), said("中文说明, for people")]
    detail: NotRequired[Annotated[dict[str, Any], said("e.g. {field} for field errors")]]


class Error(Shape):
    """Every refusal: a 4xx (503 when the database is down) with this body; never a 500 for bad input."""
    error: ErrorBody


# --- events on /hall -------------------------------------------------------------------------
# Every event: its `type`, the hall's `seq`, `at`; an event about a window also `window_id` and
# `window_seq` (changes.py). The rest is the event's own.

class Event(Shape):
    seq: int
    at: When
    window_id: NotRequired[int]
    window_seq: NotRequired[int]


class TicketIssued(Event):
    type: Literal["ticket.issued"]
    ticket: Ticket
    waiting: Waiting


class AtWindow(Event):
    """A window's operation: the window as it is now, and its ticket (none for pause/resume)."""
    window: WindowState
    ticket: Ticket | None


class TicketCalled(AtWindow):
    type: Literal["ticket.called"]
    waiting: Waiting


class TicketRecalled(AtWindow):
    type: Literal["ticket.recalled"]


class TicketSkipped(AtWindow):
    type: Literal["ticket.skipped"]


class TicketRequeued(AtWindow):
    type: Literal["ticket.requeued"]
    waiting: Waiting


class TicketTransferred(AtWindow):
    type: Literal["ticket.transferred"]
    waiting: Waiting
    to_window: NotRequired[WindowBrief]
    to_matter: NotRequired[Named]


class WindowPaused(AtWindow):
    type: Literal["window.paused"]


class WindowResumed(AtWindow):
    type: Literal["window.resumed"]


class WindowOpened(Event):
    type: Literal["window.opened"]
    window: WindowState
    staff_id: Id | None


class WindowClosed(Event):
    type: Literal["window.closed"]
    window: WindowState
    reason: str
    reason_text: str


class CaseEvent(Event):
    """At the window (with its `window` and `ticket`) or at the case desk (`case_window_id`)."""
    case: Case
    window: NotRequired[WindowState]
    ticket: NotRequired[Ticket | None]
    case_window_id: NotRequired[Id | None]


class CaseAccepted(CaseEvent):
    type: Literal["case.accepted"]


class CaseFinished(CaseEvent):
    type: Literal["case.finished"]


class CaseCorrection(CaseEvent):
    type: Literal["case.correction"]


class CaseRefused(CaseEvent):
    type: Literal["case.refused"]


class CaseDelivered(CaseEvent):
    type: Literal["case.delivered"]


class CaseSuspended(Event):
    type: Literal["case.suspended"]
    case: Case
    suspension: Suspension


class CaseClockResumed(Event):
    type: Literal["case.clock_resumed"]
    case: Case
    suspension: Suspension


class DayClosed(Event):
    type: Literal["day.closed"]
    days: list[str]
    unserved: int
    closed_serving: int
    waiting: Waiting


class RatingReceived(Event):
    type: Literal["rating.received"]
    rating: Rating
    follow_up: FollowUp | None


class RatingDefaulted(Event):
    type: Literal["rating.defaulted"]
    count: int
    level: int
    case_ids: list[int]


class RatingAppealed(Event):
    type: Literal["rating.appealed"]
    appeal: Appeal


class RatingAppealDecided(Event):
    type: Literal["rating.appeal_decided"]
    appeal: Appeal


class FollowUpUpdated(Event):
    type: Literal["follow_up.updated"]
    follow_up: FollowUp


class SupervisionWarning(Event):
    type: Literal["supervision.warning"]
    warning: Warning


class SlipsTallied(Event):
    type: Literal["slips.tallied"]
    batch: SlipBatch


class DeviceHealthChanged(Event):
    device: DeviceBrief
    alerts: list[DeviceAlert]
    opened: list[str]
    cleared: list[str]


class DeviceAlerted(DeviceHealthChanged):
    type: Literal["device.alert"]


class DeviceOk(DeviceHealthChanged):
    type: Literal["device.ok"]


class DeviceRevoked(Event):
    type: Literal["device.revoked"]
    device: DeviceBrief


class DeviceTokenRotated(Event):
    type: Literal["device.token_rotated"]
    device: DeviceBrief


class AppointmentBooked(Event):
    type: Literal["appointment.booked"]
    appointment: Appointment


class AppointmentCancelled(Event):
    type: Literal["appointment.cancelled"]
    appointment: Appointment


# event name -> its type (each type's `type` says the same name: tests/test_shapes.py)
EVENTS: dict[str, type] = {
    "ticket.issued": TicketIssued, "ticket.called": TicketCalled, "ticket.recalled": TicketRecalled,
    "ticket.skipped": TicketSkipped, "ticket.requeued": TicketRequeued, "ticket.transferred": TicketTransferred,
    "window.paused": WindowPaused, "window.resumed": WindowResumed, "window.opened": WindowOpened,
    "window.closed": WindowClosed,
    "case.accepted": CaseAccepted, "case.finished": CaseFinished, "case.correction": CaseCorrection,
    "case.refused": CaseRefused, "case.delivered": CaseDelivered, "case.suspended": CaseSuspended,
    "case.clock_resumed": CaseClockResumed, "day.closed": DayClosed,
    "rating.received": RatingReceived, "rating.defaulted": RatingDefaulted, "rating.appealed": RatingAppealed,
    "rating.appeal_decided": RatingAppealDecided, "follow_up.updated": FollowUpUpdated,
    "supervision.warning": SupervisionWarning, "slips.tallied": SlipsTallied,
    "device.alert": DeviceAlerted, "device.ok": DeviceOk, "device.revoked": DeviceRevoked,
    "device.token_rotated": DeviceTokenRotated,
    "appointment.booked": AppointmentBooked, "appointment.cancelled": AppointmentCancelled,
}


@cache
def adapter(shape: type) -> TypeAdapter:
    return TypeAdapter(shape)


def check(shape: type, value: Any) -> None:
    """Raise pydantic's ValidationError unless `value` has exactly this shape."""
    adapter(shape).validate_python(value, strict=False)


def check_event(event: dict) -> None:
    """An event as published on /hall, against the type its name declares (unknown names fail)."""
    check(EVENTS[event["type"]], event)


# The shapes the OpenAPI document names (components/schemas), generated by openapi.py.
DOCUMENTED = (WindowBrief, Ticket, Case, Window, Snapshot, Rating, FollowUp, Appeal, SlipBatch,
              Suspension, Warning, CaseLine, Figures, StatsGroup, Stats, Live, Appointment, DeviceBrief, Device, DeviceListed, Principal, Error)
