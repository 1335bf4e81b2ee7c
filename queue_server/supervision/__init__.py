"""电子监察: the time-limit clock and its warnings, suspensions (不计时环节), statistics, exports,
the monthly report, the audit trail and the supervisor's pages."""
