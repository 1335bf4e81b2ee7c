/* The supervisor dashboard: today live (kept fresh over the /hall Socket.IO stream), statistics
   for any period with charts, drill-down and exports, warnings, 差评 follow-ups, appeals, the SMS
   outbox and the audit trail. Everything comes from /api/v1 with the staff token. */
(() => {
  "use strict";
  const {api, el, time, day, pct, dur} = window.Sup;
  const $ = (id) => document.getElementById(id);
  const LEVEL_COLORS = {5: "#1b7f3b", 4: "#4c9a5f", 3: "#8aa04a", 2: "#d0741f", 1: "#c0262d"};
  const CHANNEL_ORDER = ["device", "sms", "web", "slip", "default"];
  const STATUS = {accepted: "办理中", finished: "已办结", correction: "待补正", refused: "不予受理"};   // lifecycle.py
  const ACTIONS = {
    "api.login": "登录", "api.logout": "退出登录", "api.issue": "取号", "api.call_next": "叫号", "api.recall": "重呼",
    "api.skip": "过号", "api.requeue": "重新排队", "api.transfer": "转移", "api.pause": "暂停窗口", "api.resume": "恢复窗口", "api.sign_in": "窗口签到", "api.sign_out": "窗口签退",
    "api.accept": "受理", "api.finish": "办结", "api.rate": "提交评价", "api.appeal": "提出申诉", "api.decide": "申诉复核",
    "api.follow_up_step": "差评整改", "api.open_slip_batch": "开始投箱评议", "api.scan_slip": "录入评议单",
    "api.close_slip_batch": "结束投箱评议", "api.suspend": "暂停计时", "api.resume_clock": "恢复计时",
    "api.outbox_action": "处理短信", "api.check_now": "立即检查时限", "supervision.export": "导出数据",
    "supervision.report": "查看月度通报", "supervision.audit_viewed": "查看审计日志", "sms.outbox_viewed": "查看短信发件箱",
    "ticket.issued": "取号", "ticket.called": "叫号", "ticket.recalled": "重呼", "ticket.skipped": "过号",
    "ticket.transferred": "转移", "ticket.requeued": "重新排队", "window.paused": "暂停窗口", "window.resumed": "恢复窗口",
    "window.opened": "窗口签到", "window.closed": "窗口签退/关闭",
    "case.accepted": "受理", "case.finished": "办结", "rating.received": "收到评价", "rating.defaulted": "默认评价",
    "rating.appealed": "提出申诉", "rating.appeal_decided": "申诉复核", "follow_up.updated": "差评整改",
    "supervision.warning": "时限预警", "case.suspended": "暂停计时", "case.clock_resumed": "恢复计时", "slips.tallied": "投箱评议汇总",
  };
  let me = null;
  let today = new HallClock().parts().day;   // the hall's date (UTC+8); the live figures' `at` then
  let lastStats = null;
  let drillKey = null;

  function say(text, error) {
    $("message").textContent = text || "";
    $("message").className = "message" + (error ? " error" : "");
  }

  /* Durations on the cards: one number and a unit, so a card never wraps (the tables keep 分/秒). */
  function short(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return Math.round(seconds) + "秒";
    if (seconds < 3600) return (seconds / 60).toFixed(1) + "分";
    if (seconds < 86400) return (seconds / 3600).toFixed(1) + "小时";
    return (seconds / 86400).toFixed(1) + "天";
  }

  function card(label, value, sub, tone) {
    return el("div", {class: "card" + (tone ? " " + tone : "")}, el("div", {class: "label"}, label),
              el("div", {class: "value"}, value), sub ? el("div", {class: "sub"}, sub) : null);
  }

  function table(node, head, rows) {
    node.textContent = "";
    node.append(el("thead", {}, el("tr", {}, head.map((h) => el("th", {class: h.text ? "text" : null}, h.title || h)))));
    const body = el("tbody");
    rows.forEach((r) => body.append(r));
    if (!rows.length) body.append(el("tr", {}, el("td", {class: "text muted", colspan: String(head.length)}, "没有记录")));
    node.append(body);
  }

  function td(value, text) { return el("td", {class: text ? "text" : null}, value === null || value === undefined ? "—" : value); }

  // --- tabs ------------------------------------------------------------------------------------
  const loaders = {live: loadLive, stats: loadStats, warnings: loadWarnings, followups: loadFollowUps,
                   appeals: loadAppeals, outbox: loadOutbox, audit: loadAudit};
  let current = "live";
  function show(tab) {
    current = tab;
    document.querySelectorAll("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
    document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== tab; });
    say("");
    loaders[tab]().catch((err) => say(err.message, true));
  }

  // --- today live -------------------------------------------------------------------------------
  async function loadLive() {
    const d = await api("GET", "/supervision/live");
    today = d.at.slice(0, 10);
    const missing = d.calendar_missing_years || [];
    $("calendar-alert").hidden = !missing.length;
    $("calendar-alert").textContent = missing.length ? "工作日历缺少 " + missing.join("、") +
      " 年的节假日安排：这些年份的办结时限暂按周一至周五计算。国务院办公厅通知发布后，请更新 config/calendar/cn.toml 并重启服务。" : "";
    const cards = $("live-cards");
    cards.textContent = "";
    cards.append(
      card("等候人数", d.waiting, "今日取号 " + d.issued),
      card("办理中", d.serving, "已叫号待办理 " + d.called),
      card("暂停窗口", d.paused.length, d.paused.length ? d.paused.map((n) => n + "号").join("、") : "无"),
      card("未开放窗口", (d.closed || []).length, (d.closed || []).length ? d.closed.map((n) => n + "号").join("、") + "（无人签到）" : "无"),
      card("最长等候", d.longest_wait ? short(d.longest_wait.seconds) : "—", d.longest_wait ? d.longest_wait.ticket + "号" : "无人等候",
           d.longest_wait && d.longest_wait.seconds > 1800 ? "yellow" : null),
      card("今日受理", d.accepted, "今日办结 " + d.finished),
      card("过号 / 未办理", d.skipped + " / " + d.unserved, "未办理：日终时仍在等候或已叫未到",
           d.unserved ? "yellow" : null),
      card("黄色预警", d.warnings.yellow, "即将超时", d.warnings.yellow ? "yellow" : null),
      card("红色预警", d.warnings.red, "已超时", d.warnings.red ? "red" : null));
    const windows = $("live-windows");
    windows.textContent = "";
    d.windows.forEach((w) => {
      const shut = w.state === "paused" || w.state === "closed";
      const state = shut ? "paused " + w.state : (w.ticket_status || "");
      const what = w.state === "closed" ? "未开放" : w.state === "paused" ? "暂停服务" : w.ticket ? w.ticket + (w.ticket_status === "serving" ? " 办理中" : " 已叫号") : "空闲";
      windows.append(el("div", {class: "win " + state, title: w.name}, el("strong", {}, w.number + "号窗口"), what));
    });
    setBadge("badge-warnings", d.warnings.yellow + d.warnings.red);
    const list = await api("GET", "/supervision/warnings");
    const box = $("live-warnings");
    box.textContent = "";
    if (!list.warnings.length) box.append(el("p", {class: "muted"}, "没有未处理的预警"));
    list.warnings.slice(0, 8).forEach((w) => box.append(el("p", {},
      el("span", {class: w.level === "red" ? "level-r" : "level-y"}, w.level_word), " ", w.message)));
    if (list.warnings.length > 8) {
      box.append(el("p", {}, el("a", {href: "#warnings", onclick: (ev) => { ev.preventDefault(); show("warnings"); }},
                                    `另有 ${list.warnings.length - 8} 条，查看全部预警`)));
    }
  }

  function setBadge(id, n) {
    $(id).textContent = n;
    $(id).hidden = !n;
  }

  function toast(text, red) {
    const t = el("div", {class: "toast" + (red ? " red" : ""), role: "alert"}, text);
    document.body.append(t);
    setTimeout(() => t.remove(), 8000);
  }

  let refreshTimer = null;
  function soon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { if (current === "live") loadLive().catch(() => {}); }, 400);
  }

  function connect(token) {
    if (typeof io !== "function") { $("conn").textContent = "无实时连接"; return; }
    const conn = (up) => { $("conn").textContent = up ? "实时" : "连接中断，重连中…"; $("conn").className = up ? "conn" : "conn off"; };
    const stream = new HallStream({
      token: () => Sup.store.get("token") || token,   // at every (re)connect: session.js may have renewed it
      onSnapshot: soon,
      onEvent(ev) {
        if (ev.type === "supervision.warning" && ev.warning) {
          toast(ev.warning.level_word + "：" + ev.warning.message, ev.warning.level === "red");
          if (current === "warnings") loadWarnings().catch(() => {});
        }
        if (ev.type === "rating.received" && ev.follow_up) setBadge("badge-followups", Number($("badge-followups").textContent || 0) + 1);
        soon();
      },
      onStatus: conn,
    });
    stream.start();
  }

  // --- statistics -------------------------------------------------------------------------------
  function range(kind) {
    const t = new Date(today + "T00:00:00");
    if (kind === "today") { $("from").value = today; $("to").value = today; }
    if (kind === "month") { $("from").value = today.slice(0, 8) + "01"; $("to").value = today; }
    if (kind === "last") {
      const first = new Date(t.getFullYear(), t.getMonth() - 1, 1);
      const last = new Date(t.getFullYear(), t.getMonth(), 0);
      $("from").value = day(first); $("to").value = day(last);
    }
  }

  function period() { return "from=" + $("from").value + "&to=" + $("to").value; }

  async function loadStats() {
    if (!$("from").value) range("month");
    const by = $("by").value;
    const d = await api("GET", "/supervision/stats?" + period() + "&by=" + by);
    lastStats = d;
    const t = d.totals;
    const cards = $("stat-cards");
    cards.textContent = "";
    cards.append(
      card("即办率", pct(t.immediate_rate), `即办件 ${t.immediate} / 受理 ${t.accepted}`),
      card("按时办结率", pct(t.on_time_rate), `按时 ${t.on_time} / 办结 ${t.finished}`, t.late ? "yellow" : "good"),
      card("满意率", pct(t.satisfaction_rate), `非常满意+满意 ${t.satisfied} / ${t.ratings}`, "good"),
      card("好评率", pct(t.good_rate), `好评 ${t.good} / 有效评价 ${t.ratings}`, "good"),
      card("差评", t.bad, "差评率 " + pct(t.bad_rate), t.bad ? "red" : null),
      card("默认评价（单列）", t.defaults, "含默认好评率 " + pct(t.good_rate_with_defaults)),
      card("作废评价", t.voided, `申诉成立 ${t.voided_by.appeal}，默认被取代 ${t.voided_by.superseded}` +
        (t.voided_by.duplicate ? `，重复 ${t.voided_by.duplicate}` : "")),
      card("平均等候", short(t.wait_avg), "P90 " + short(t.wait_p90) + "，" + t.waited + " 人"),
      card("平均办理", short(t.service_avg), "P90 " + short(t.service_p90) + "，" + t.served + " 件"));
    Charts.bars($("chart-channels"), CHANNEL_ORDER.map((c) => ({label: d.channel_words[c], value: t.channels[c],
      color: c === "default" ? "#8b96a5" : "#0b4f9c"})), {title: "评价渠道", width: 420, labelWidth: 110});
    Charts.bars($("chart-levels"), [5, 4, 3, 2, 1].map((n) => ({label: d.level_words[n], value: t.levels[n], color: LEVEL_COLORS[n]})),
                {title: "评价等级", width: 420, labelWidth: 110});
    const ranked = d.groups.filter((g) => g.ratings).slice().sort((a, b) => (b.satisfaction_rate || 0) - (a.satisfaction_rate || 0));
    $("chart-groups-title").textContent = "满意率（按" + d.by_word + "）";
    Charts.bars($("chart-groups"), ranked.slice(0, 12).map((g) => ({label: g.name, value: g.satisfaction_rate,
      note: g.ratings + " 条评价", color: (g.satisfaction_rate || 0) < 80 ? "#d0741f" : "#1b7f3b"})),
      {title: "满意率", width: 420, labelWidth: 130, max: 100, format: (v) => v.toFixed(1) + "%"});
    $("groups-title").textContent = "按" + d.by_word + "统计（点击一行查看办件）";
    const head = [{title: d.by_word, text: true}, "受理", "即办率", "办结", "按时办结率", "有效评价", "满意率", "好评率", "差评",
                  "默认", "平均等候", "P90等候", "平均办理", "P90办理"];
    const row = (g, total) => {
      const tr = el("tr", {class: total ? null : "click"}, td(g.name, true), td(g.accepted), td(pct(g.immediate_rate)), td(g.finished),
        td(pct(g.on_time_rate)), td(g.ratings), td(pct(g.satisfaction_rate)), td(pct(g.good_rate)),
        td(g.bad ? el("span", {class: "level-r"}, g.bad) : 0), td(g.defaults), td(dur(g.wait_avg)), td(dur(g.wait_p90)),
        td(dur(g.service_avg)), td(dur(g.service_p90)));
      if (!total) tr.addEventListener("click", () => { drillKey = g.key; drill(g.name, tr); });
      return tr;
    };
    table($("groups"), head, d.groups.map((g) => row(g)).concat([row(Object.assign({name: "合计"}, t), true)]));
    $("groups").querySelector("tbody tr:last-child").style.fontWeight = "600";
    const formulas = $("formulas");
    formulas.textContent = "";
    d.formulas.forEach((f) => formulas.append(el("dt", {}, f.name), el("dd", {}, f.formula)));
    $("drill").hidden = true;
  }

  async function drill(name, tr) {
    document.querySelectorAll("#groups tr.selected").forEach((r) => r.classList.remove("selected"));
    if (tr) tr.classList.add("selected");
    const query = drillQuery();
    const d = await api("GET", "/supervision/cases?" + query);
    $("drill-title").textContent = (name || $("drill-title").dataset.name) + "：办件明细（" + d.cases.length + " 件）";
    $("drill-title").dataset.name = name || $("drill-title").dataset.name;
    const rows = d.cases.map((c) => el("tr", {},
      td(c.number, true), td(c.ticket_number), td(c.matter_name, true), td(c.kind), td(c.window_number ? c.window_number + "号" : "—"),
      td(c.staff_name), td(time(c.accepted_at)), td(time(c.due_at) + (c.due_guessed ? "（暂定）" : "")), td(time(c.finished_at)),
      td(c.on_time === null ? STATUS[c.status] : c.on_time ? "按时" : el("span", {class: "level-r"}, "超期")),
      td(dur(c.wait_seconds)), td(dur(c.service_seconds)),
      td(c.ratings.map((r) => r.channel_word + ":" + r.level_word + (r.voided ? "(作废)" : "")).join("；") || "—", true)));
    table($("drill-table"), [{title: "办件编号", text: true}, "号码", {title: "事项", text: true}, "类型", "窗口", "经办人", "受理",
                             "承诺期限", "办结", "时限", "等候", "办理", {title: "评价", text: true}], rows);
    $("drill").hidden = false;
    $("drill").scrollIntoView({behavior: "smooth", block: "nearest"});
  }

  function drillQuery() {
    return period() + "&by=" + $("by").value + "&key=" + (drillKey === null ? "null" : drillKey) + "&only=" + $("drill-only").value;
  }

  // --- warnings ---------------------------------------------------------------------------------
  async function loadWarnings() {
    const d = await api("GET", "/supervision/warnings?state=" + ($("warnings-all").checked ? "all" : "open"));
    table($("warnings-table"), ["级别", {title: "内容", text: true}, "部门", "窗口", "期限", "预警时间", "状态"],
      d.warnings.map((w) => el("tr", {}, td(el("span", {class: w.level === "red" ? "level-r" : "level-y"}, w.level_word)),
        td(w.message, true), td(w.department), td(w.window ? w.window.number + "号" : "—"), td(time(w.due_at)),
        td(time(w.raised_at)), td(w.open ? "未解除" : "已解除 " + time(w.resolved_at)))));
  }

  // --- follow-ups -------------------------------------------------------------------------------
  const NEXT = {verify: ["verify", "核实"], fix: ["fix", "整改"], callback: ["callback", "回访"]};
  async function loadFollowUps() {
    const d = await api("GET", "/follow-ups?state=" + $("followups-state").value);
    setBadge("badge-followups", $("followups-state").value === "open" ? d.follow_ups.length : 0);
    table($("followups-table"), [{title: "差评", text: true}, "部门", "立案", "整改期限", "当前", {title: "办理记录", text: true}, {title: "操作", text: true}],
      d.follow_ups.map((f) => {
        const r = f.rating || {};
        const actions = el("div", {class: "actions"});
        if (NEXT[f.stage]) {
          const [step, word] = NEXT[f.stage];
          actions.append(el("button", {type: "button", class: "hall-btn small", onclick: () => stepForm(actions, f, step, word)}, word));
        }
        if (f.open) actions.append(el("button", {type: "button", class: "hall-btn small", onclick: () => appealForm(actions, f.rating_id)}, "申诉"));
        return el("tr", {},
          td(el("div", {}, el("strong", {class: "level-r"}, r.level_word), " · ", r.channel_word, " · ", f.case_number,
                el("div", {class: "muted"}, (r.matter ? r.matter.name : "") + (r.window ? "，" + r.window.number + "号窗口" : "") +
                   (r.staff ? "，" + r.staff.name : "")),
                r.tags && r.tags.length ? el("div", {}, r.tags.join("、")) : null, r.comment ? el("div", {}, "“" + r.comment + "”") : null), true),
          td(f.department ? f.department.name : "—"), td(time(f.opened_at)),
          td(f.overdue ? el("span", {class: "level-r"}, time(f.due_at) + " 已超期") : time(f.due_at)),
          td(f.stage_word + (f.fix_rating ? "（回访评价：" + f.fix_rating + "）" : "")),
          td(el("div", {}, f.steps.map((s) => el("div", {}, time(s.at) + " " + s.stage_word + "：" + s.note + "（" + s.actor + "）"))), true),
          td(actions, true));
      }));
  }

  function stepForm(box, f, step, word) {
    box.textContent = "";
    const note = el("textarea", {maxlength: "1000", placeholder: word + "情况说明", "aria-label": word + "情况说明"});
    const fix = step === "callback" ? el("select", {"aria-label": "评价人对整改的评价"}, el("option", {value: ""}, "评价人对整改的评价…"),
      ["满意", "基本满意", "不满意"].map((w) => el("option", {value: w}, w))) : null;
    const submit = el("button", {type: "button", class: "hall-btn small primary", onclick: async () => {
      try {
        await api("POST", `/follow-ups/${f.id}/${step}`, {note: note.value, fix_rating: fix ? fix.value || null : undefined});
        say(word + "已记录");
        loadFollowUps();
      } catch (err) { say(err.message, true); }
    }}, "提交" + word);
    box.append(el("div", {class: "stepform"}, note, fix, submit));
    note.focus();
  }

  function appealForm(box, ratingId) {
    box.textContent = "";
    const reason = el("textarea", {maxlength: "1000", placeholder: "申诉理由（误评、恶意差评等，须有依据）", "aria-label": "申诉理由"});
    box.append(el("div", {class: "stepform"}, reason, el("button", {type: "button", class: "hall-btn small primary", onclick: async () => {
      try {
        await api("POST", `/ratings/${ratingId}/appeal`, {reason: reason.value});
        say("申诉已提交，等待复核");
        loadFollowUps();
      } catch (err) { say(err.message, true); }
    }}, "提交申诉")));
    reason.focus();
  }

  // --- appeals ----------------------------------------------------------------------------------
  async function loadAppeals() {
    const state = $("appeals-state").value;
    const d = await api("GET", "/appeals" + (state ? "?status=" + state : ""));
    table($("appeals-table"), [{title: "评价", text: true}, {title: "申诉理由", text: true}, "申诉人", "时间", "状态", {title: "复核", text: true}],
      d.appeals.map((a) => {
        const r = a.rating || {};
        const decide = el("div", {class: "actions"});
        if (a.status === "pending") {
          const note = el("textarea", {maxlength: "1000", placeholder: "复核意见", "aria-label": "复核意见"});
          const go = (decision) => async () => {
            try {
              await api("POST", `/appeals/${a.id}/decide`, {decision, note: note.value});
              say("复核结论已记录");
              loadAppeals();
            } catch (err) { say(err.message, true); }
          };
          decide.append(el("div", {class: "stepform"}, note, el("div", {class: "actions"},
            el("button", {type: "button", class: "hall-btn small primary", onclick: go("upheld")}, "申诉成立（作废评价）"),
            el("button", {type: "button", class: "hall-btn small", onclick: go("rejected")}, "申诉不成立"))));
        } else {
          decide.append(a.decision_note + "（" + a.decided_by + " " + time(a.decided_at) + "）");
        }
        return el("tr", {}, td(`${r.level_word}（${r.channel_word}）${r.case_number || ""}`, true), td(a.reason, true), td(a.filed_by),
                  td(time(a.filed_at)), td(a.status_word), td(decide, true));
      }));
  }

  // --- SMS outbox -------------------------------------------------------------------------------
  const SMS_STATUS = {pending: "待发送", sending: "发送中", sent: "已发送", failed: "发送失败", unknown: "待核实", rate_limited: "限流未发",
                      not_needed: "无需发送（已评价）"};
  async function loadOutbox() {
    const d = await api("GET", "/sms/outbox");
    $("outbox-gateway").textContent = "短信网关：" + d.gateway + (d.gateway.startsWith("outbox") ? "（发件箱模式：短信只保存在这里，不实际发出）" : "");
    table($("outbox-table"), ["手机", {title: "内容", text: true}, "状态", "次数", "创建", "发送", "网关编号", {title: "错误", text: true}, "操作"],
      d.messages.map((m) => {
        const ops = el("div", {class: "actions"});
        if (me.role === "admin" && ["failed", "unknown", "rate_limited"].includes(m.status)) {
          const act = (action) => async () => {
            try { await api("POST", `/sms/outbox/${m.id}/${action}`); loadOutbox(); } catch (err) { say(err.message, true); }
          };
          ops.append(el("button", {type: "button", class: "hall-btn small", onclick: act("retry")}, "重发"));
          if (m.status === "unknown") ops.append(el("button", {type: "button", class: "hall-btn small", onclick: act("mark-sent")}, "已发出"));
        }
        return el("tr", {}, td(m.phone), td(m.text, true), td(SMS_STATUS[m.status] || m.status), td(m.attempts), td(time(m.created_at)),
                  td(time(m.sent_at)), td(m.provider_id), td(m.last_error, true), td(ops));
      }));
  }

  // --- audit ------------------------------------------------------------------------------------
  async function loadAudit() {
    if (!$("audit-from").value) { $("audit-from").value = today; $("audit-to").value = today; }
    const q = `from=${$("audit-from").value}&to=${$("audit-to").value}&actor=${encodeURIComponent($("audit-actor").value)}` +
              ($("audit-events").checked ? "&events=1" : "");
    const d = await api("GET", "/supervision/audit?" + q);
    table($("audit-table"), ["时间", {title: "操作人", text: true}, {title: "操作", text: true}, {title: "对象", text: true}, "结果", "来源地址"],
      d.entries.map((e) => el("tr", {}, td(time(e.at) + e.at.slice(16, 19)), td(e.actor, true),
        td((ACTIONS[e.action] || e.action) + (e.kind === "event" ? "（事件）" : ""), true), td(e.target, true),
        td(e.status === null ? "—" : e.status < 400 ? "成功" : el("span", {class: "level-r"}, "拒绝 " + e.status)), td(e.origin || "—"))));
  }

  // --- start ------------------------------------------------------------------------------------
  async function start() {
    me = await Sup.login($("login-root"), "电子监察 · 督查人员登录");
    $("who-name").textContent = me.name + "（" + (me.role === "admin" ? "管理员" : "督查") + "）";
    $("who").hidden = false;
    $("app").hidden = false;
    $("logout").addEventListener("click", Sup.logout);
    document.querySelectorAll("[role=tab]").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
    document.querySelectorAll("[data-range]").forEach((b) => b.addEventListener("click", () => { range(b.dataset.range); loadStats().catch((e) => say(e.message, true)); }));
    $("query").addEventListener("click", () => loadStats().catch((e) => say(e.message, true)));
    $("by").addEventListener("change", () => loadStats().catch((e) => say(e.message, true)));
    $("drill-only").addEventListener("change", () => drill().catch((e) => say(e.message, true)));
    $("export-csv").addEventListener("click", () => Sup.download("/supervision/export.csv?" + period() + "&by=" + $("by").value, "统计.csv").catch((e) => say(e.message, true)));
    $("export-xlsx").addEventListener("click", () => Sup.download("/supervision/export.xlsx?" + period() + "&by=" + $("by").value, "统计.xlsx").catch((e) => say(e.message, true)));
    $("drill-csv").addEventListener("click", () => Sup.download("/supervision/export.csv?what=cases&" + drillQuery(), "办件.csv").catch((e) => say(e.message, true)));
    $("drill-xlsx").addEventListener("click", () => Sup.download("/supervision/export.xlsx?what=cases&" + drillQuery(), "办件.xlsx").catch((e) => say(e.message, true)));
    $("warnings-all").addEventListener("change", () => loadWarnings().catch((e) => say(e.message, true)));
    $("followups-state").addEventListener("change", () => loadFollowUps().catch((e) => say(e.message, true)));
    $("appeals-state").addEventListener("change", () => loadAppeals().catch((e) => say(e.message, true)));
    $("audit-query").addEventListener("click", () => loadAudit().catch((e) => say(e.message, true)));
    const wanted = (location.hash || "").slice(1);
    show(loaders[wanted] ? wanted : "live");
    connect(Sup.store.get("token"));
    api("GET", "/follow-ups?state=open").then((d) => setBadge("badge-followups", d.follow_ups.length)).catch(() => {});
    setInterval(() => { if (current === "live") loadLive().catch(() => {}); }, 60000);
  }
  start().catch((err) => say(err.message, true));
})();
