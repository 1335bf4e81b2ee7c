"""Official working days (法定工作日): weekends, public holidays and 调休 make-up days.

Time limits in the hall are counted in working days (行政许可法 §82). The calendar comes from
the yearly 国务院办公厅 notice and is kept in `config/calendar/cn.toml`, so a hall can update it
without a software release.

Next year's notice comes out in November, so every December cases are accepted whose limits run
into a year the calendar does not cover yet. Refusing them would stop the windows; instead such a
year counts Monday–Friday, and the year is remembered in `guessed_years` so supervisors are told
(dashboard, log) to update the calendar. A due date counted that way is marked a guess on its
case or follow-up and counted again when the server starts with the year in the calendar
(due_dates.py). Where a guess would mislead a citizen (an appointment on what may be a holiday)
callers ask `is_workday(day, strict=True)` and refuse clearly.
"""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path


class CalendarError(ValueError):
    pass


@dataclass
class WorkCalendar:
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    guessed_years: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, path: str | Path) -> "WorkCalendar":
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CalendarError(f"{path}: 找不到工作日历文件") from None
        except tomllib.TOMLDecodeError as exc:
            raise CalendarError(f"{path}: 工作日历不是合法的 TOML：{exc}") from None
        cal = cls()
        for year_key, section in data.items():
            if not (isinstance(year_key, str) and year_key.isdigit() and isinstance(section, dict)):
                raise CalendarError(f"{path}: [{year_key}] 应为年份，如 [2026]")
            year = int(year_key)
            cal.years.add(year)
            for key, target in (("holidays", cal.holidays), ("workdays", cal.workdays)):
                for raw in section.get(key, []):
                    try:
                        day = date.fromisoformat(str(raw))
                    except ValueError:
                        raise CalendarError(f"{path}: [{year}] {key} 中的 {raw!r} 不是日期（YYYY-MM-DD）") from None
                    if day.year != year:
                        raise CalendarError(f"{path}: [{year}] {key} 中的 {raw} 不属于 {year} 年")
                    target.add(day)
        clash = cal.holidays & cal.workdays
        if clash:
            raise CalendarError(f"{path}: 同一天既是假日又是调休上班日：{sorted(clash)[0]}")
        return cal

    def is_workday(self, day: date, strict: bool = False) -> bool:
        if day.year not in self.years:
            if strict:
                raise CalendarError(f"工作日历缺少 {day.year} 年的节假日安排，请更新 config/calendar/cn.toml")
            if day.year not in self.guessed_years:
                self.guessed_years.add(day.year)
                logging.getLogger("hall").warning(
                    "工作日历缺少 %s 年的节假日安排：该年暂按周一至周五计算工作日，请更新 config/calendar/cn.toml",
                    day.year)
            return day.weekday() < 5
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def covers(self, start: date, end: date) -> bool:
        """Every year from `start` to `end` is in the calendar: a count over them is no guess."""
        return all(year in self.years for year in range(start.year, end.year + 1))

    def missing_years(self, today: date) -> list[int]:
        """Years a supervisor must add: this year, next year from November (limits run into it),
        and any year a count has already guessed. The same answer in every server process."""
        wanted = {today.year, *self.guessed_years} | ({today.year + 1} if today.month >= 11 else set())
        return sorted(y for y in wanted if y not in self.years)

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (the start day itself is not counted)."""
        if days < 0:
            raise ValueError("working days must be >= 0")
        day = start
        if days == 0:
            while not self.is_workday(day):
                day += timedelta(days=1)
            return day
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def due_at(self, start: datetime, days: int, deadline_time: time) -> datetime:
        """When a limit of `days` working days from `start` runs out.

        0 days (即办件) is the same working day; otherwise the start day is not counted
        (开始的当日不计入) and the limit ends at the hall's deadline time of the last day.
        """
        return datetime.combine(self.add_working_days(start.date(), days), deadline_time)
