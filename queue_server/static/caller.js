/* 窗口叫号 (window caller): the clerk's page at a service window.
 *
 * Plain browser JavaScript, no build step. State comes from three places:
 *   - the REST API (/api/v1, the kit's api.js): login, the window operations, the catalogue;
 *   - the hall stream (the kit's stream.js): a `snapshot` on connect, then events in `seq` order
 *     (a gap in `seq` or a reconnect brings a fresh snapshot, and the page re-renders from it);
 *   - sessionStorage: the login token, the chosen window, today's skipped tickets of this window
 *     (there is no list endpoint for them) and the case numbers seen (the snapshot has none).
 */
(() => {
  "use strict";

  const STORE = "hall.caller.";
  // What a ticket may do next and its words come with it from the server (lifecycle.py):
  // `actions` and `status_text`; these words are only for a ticket shown before they arrive.
  const STATUS_WORDS = { waiting: "等候中", called: "已叫号", serving: "办理中", done: "办理完毕", skipped: "已过号" };
  const KEYS = { F1: "call", F2: "recall", F3: "skip", F4: "accept", F6: "finish", F7: "transfer", F8: "pause",
               F9: "correct", F10: "refuse" };
  const ACTION_WORDS = { call: "叫号", recall: "重呼", skip: "过号", accept: "受理", finish: "办结",
                       transfer: "转移", pause: "暂停/恢复", correct: "补正告知", refuse: "不予受理" };
  const LEFT_WORDS = { finished: "已办结", skipped: "已过号", transferred: "已转移", accepted: "已受理",
                     correction: "已出具补正告知", refused: "不予受理" };
  const POLL_MS = 10000;          // while the stream is down, refresh from GET /queue this often
  const MESSAGE_MS = 8000;        // info messages fade; errors stay until closed or replaced

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- state
  const S = {
    token: null,
    staff: null,            // from the login answer: {id, username, name, staff_no, role, windows}
    windowId: null,
    hall: null,             // {code, name}
    day: null,              // "YYYY-MM-DD" of the snapshot (the hall's day)
    waiting: null,          // the waiting counts object (total, by_window, ...)
    win: null,              // this window: {id, number, name, state, department}
    cur: null,              // {ticket, case} at this window (called or serving)
    closed: {},             // ticket id -> call_count when it left this window (ignore older news)
    last: null,             // {ticket, how, case}: the ticket that just left
    skipped: [],            // today's skipped tickets of this window
    recent: [],             // recent calls in the hall
    connected: false,
    everConnected: false,
    busy: false,            // an operation is on its way: no double submits
    pending: null,          // an action pressed meanwhile, run when the first one is done
    catalogue: null
  };
  const clock = new HallClock();   // the hall's time, synced from each snapshot
  let stream = null;            // the hall stream while a window is open
  let openedAt = Date.now();    // when the stream was asked for (a slow first connect is said so)
  let pollTimer = null, messageTimer = null;
  let transferChoice = null;

  // ---------------------------------------------------------------- storage
  function load(name, fallback) {
    try {
      const raw = sessionStorage.getItem(STORE + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) { return fallback; }
  }
  function save(name, value) {
    try {
      if (value === null || value === undefined) sessionStorage.removeItem(STORE + name);
      else sessionStorage.setItem(STORE + name, JSON.stringify(value));
    } catch (e) { /* private mode or full: the page still works, it only forgets on reload */ }
  }
  function skippedKey() { return "skipped." + S.windowId + "." + S.day; }
  function saveSkipped() { if (S.windowId && S.day) save(skippedKey(), S.skipped); }
  function saveCase(ticketId, kase) {
    const cases = load("cases", {});
    cases[ticketId] = kase;
    const ids = Object.keys(cases);
    if (ids.length > 200) delete cases[ids[0]];
    save("cases", cases);
  }
  function loadCase(ticketId) { return load("cases", {})[ticketId] || null; }

  // ---------------------------------------------------------------- API
  const ApiError = HallApi.ApiError;
  const api = HallApi.client(() => S.token);

  /** Every failure lands here: a 401 ends the session, anything else shows its Chinese message. */
  function fail(err) {
    err = HallApi.asApiError(err);
    if (err.status === 401 && S.token) {
      endSession(err.message || "登录已失效，请重新登录");
      return;
    }
    showMessage(err.message, "error");
  }

  // ---------------------------------------------------------------- time
  // The hall's time (UTC+8, the server's clock): the kit's clock.js.
  function now() { return clock.now(); }
  function parseTime(iso) { return iso ? new Date(iso).getTime() : null; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hm(ms) { return HallClock.parts(ms).hm; }
  function hms(ms) { return HallClock.parts(ms).time; }
  function dateWords(ms) {
    const p = HallClock.parts(ms);
    return p.date + "（" + p.weekday.replace("星期", "周") + "）";
  }
  function dueWords(k) {
    if (!k || !k.due_at) return "—";
    const due = parseTime(k.due_at);
    return dateWords(due) + " " + hm(due) + (k.due_guessed ? "（暂定）" : "");
  }
  function duration(ms) {
    if (ms === null || isNaN(ms)) return "—";
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h > 0) return h + "小时" + pad(m) + "分";
    if (m > 0) return m + "分" + pad(sec) + "秒";
    return sec + "秒";
  }

  // ---------------------------------------------------------------- messages
  function showMessage(text, kind) {
    const box = $("message");
    $("message-text").textContent = text || "";
    box.className = "message" + (text ? " show " + (kind || "info") : "");
    $("message-close").hidden = !text;
    clearTimeout(messageTimer);
    if (text && kind !== "error") messageTimer = setTimeout(() => { showMessage(""); }, MESSAGE_MS);
  }

  // ---------------------------------------------------------------- views
  function showView(name) {
    ["login", "choose", "main"].forEach((v) => { $(v + "-view").hidden = v !== name; });
    document.body.setAttribute("data-view", name);
    const signedIn = name !== "login";
    $("btn-logout").hidden = !signedIn;
    $("clerk-name").textContent = signedIn && S.staff ? S.staff.name + (S.staff.staff_no ? "（工号 " + S.staff.staff_no + "）" : "") : "";
    $("btn-switch").hidden = !(name === "main" && selectableWindows().length > 1);
    $("btn-sign").hidden = name !== "main";
    if (name !== "main") {
      $("window-name").textContent = "";
      $("window-state").hidden = true;
      $("conn-state").hidden = true;
      $("conn-banner").hidden = true;
    }
  }

  function showLogin(message, kind) {
    showView("login");
    $("login-error").textContent = message || "";
    $("login-error").hidden = !message;
    $("login-error").className = "login-error" + (kind === "info" ? " info" : "");
    $("login-password").value = "";
    const user = $("login-username");
    (user.value ? $("login-password") : user).focus();
    if (!S.hall) {
      // The catalogue is public: it names the hall on the login screen.
      api("GET", "/matters").then((cat) => {
        S.catalogue = cat;
        S.hall = { code: cat.hall.code, name: cat.hall.name };
        $("hall-name").textContent = cat.hall.name;
        $("login-hall").textContent = cat.hall.name;
      }).catch(() => { /* several halls: the login names its hall */ });
    }
  }

  // ---------------------------------------------------------------- login
  function onLogin(ev) {
    ev.preventDefault();
    const body = { username: $("login-username").value.trim(), password: $("login-password").value };
    const hallCode = $("login-hall-code").value.trim();
    if (hallCode) body.hall = hallCode;
    if (!body.username || !body.password) {
      $("login-error").textContent = "请输入用户名和密码";
      $("login-error").hidden = false;
      return;
    }
    $("login-submit").disabled = true;
    $("login-error").hidden = true;
    api("POST", "/auth/login", body).then((data) => {
      S.token = data.token;
      S.staff = data.staff;
      save("token", S.token);
      save("staff", S.staff);
      HallSession.started(STORE, data.expires_in);
      showMessage("");
      afterLogin();
    }).catch((err) => {
      if (err.code === "hall_required") $("login-hall-row").hidden = false;
      $("login-error").textContent = err.message;
      $("login-error").className = "login-error";
      $("login-error").hidden = false;
      $("login-password").select();
    }).then(() => { $("login-submit").disabled = false; });
  }

  function selectableWindows() {
    if (!S.staff) return [];
    if (S.staff.windows && S.staff.windows.length) return S.staff.windows;
    if (S.staff.role === "admin" && S.catalogue) return S.catalogue.windows;  // admins may cover any window
    return [];
  }

  function afterLogin() {
    HallSession.keep({ prefix: STORE, token: () => S.token,
                       renewed: (token) => { S.token = token; save("token", token); } });
    const go = function () {
      const list = selectableWindows();
      const stored = load("window", null);
      if (stored && list.some((w) => w.id === stored)) return openWindow(stored);
      if (list.length === 1) return openWindow(list[0].id);
      if (list.length === 0) {
        const who = S.staff && S.staff.role !== "clerk" ? "当前账号不是窗口工作人员" : "您的账号还没有分配窗口";
        return endSession(who + "，不能使用窗口叫号，请联系管理员");
      }
      chooseWindow(list);
    };
    if (S.staff && S.staff.role === "admin" && !S.catalogue) {
      api("GET", "/matters").then((cat) => { S.catalogue = cat; go(); }).catch(fail);
    } else {
      go();
    }
  }

  function chooseWindow(list) {
    disconnect();
    S.windowId = null;
    save("window", null);
    const box = $("choose-list");
    box.textContent = "";
    list.forEach((w) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "hall-btn choose-item";
      b.setAttribute("data-window-id", w.id);
      const n = document.createElement("b"); n.textContent = w.number + "号窗口";
      const t = document.createElement("span"); t.textContent = w.name || "";
      b.appendChild(n); b.appendChild(t);
      b.addEventListener("click", () => { openWindow(w.id); });
      box.appendChild(b);
    });
    showView("choose");
    const first = box.querySelector("button");
    if (first) first.focus();
  }

  function openWindow(windowId) {
    S.windowId = windowId;
    save("window", windowId);
    const w = selectableWindows().filter((x) => x.id === windowId)[0];
    S.win = w ? { id: w.id, number: w.number, name: w.name, state: w.state || null } : { id: windowId };
    S.cur = null; S.last = null; S.closed = {}; S.day = null; S.skipped = [];
    S.waiting = null; S.recent = [];
    showView("main");
    render();
    connect();
    signIn(false);
  }

  // ---------------------------------------------------------------- 签到 / 签退 (staffing)
  // The window is open to citizens only while its clerk is signed in: opening the window here
  // signs in; working on it keeps it open (a sign-in again every few minutes while keys and
  // clicks come); 签退, logging out or a long idle closes it (未开放 on the TV and the kiosk).
  const SIGN_AGAIN_MS = 5 * 60 * 1000;
  let signedAt = 0;
  function closed() { return !!(S.win && S.win.state === "closed"); }
  function signIn(say) {
    if (!S.windowId) return Promise.resolve();
    signedAt = Date.now();
    return op("sign-in").then((d) => {
      if (S.win) S.win.state = d.window.state;
      if (say) showMessage("已签到：本窗口开放服务", "ok");
      render();
    }).catch((err) => { signedAt = 0; fail(err); });
  }
  function signOut() {
    if (S.busy) return;
    signedAt = Date.now();   // the click's own "still here" must not sign in again
    setBusy(true);
    op("sign-out").then((d) => {
      if (S.win) S.win.state = d.window.state;
      showMessage("已签退：本窗口对市民显示「未开放」，新号不再指向本窗口", "ok");
    }).catch(fail).then(() => { setBusy(false); render(); });
  }
  function stillHere() {
    if (document.body.getAttribute("data-view") !== "main" || closed() || !S.win || !S.win.state) return;
    if (Date.now() - signedAt > SIGN_AGAIN_MS) signIn(false);
  }

  function endSession(message, kind) {
    disconnect();
    S.token = null; S.staff = null; S.windowId = null; S.win = null; S.cur = null; S.pending = null;
    ["token", "staff", "window"].forEach((k) => { save(k, null); });
    HallSession.ended(STORE);
    if ($("transfer-dialog").open) $("transfer-dialog").close();
    showMessage("");
    showLogin(message, kind);
  }

  function logout() {
    const token = S.token;
    if (token) api("POST", "/auth/logout").catch(() => { /* the token expires by itself */ });
    endSession("您已退出登录", "info");
  }

  // ---------------------------------------------------------------- the stream
  function connect() {
    disconnect();
    if (typeof io !== "function") {
      showMessage("实时连接组件未能加载（socket.io），页面数据不会自动更新", "error");
      startPolling();
      return;
    }
    S.connected = false;
    S.everConnected = false;
    openedAt = Date.now();
    stream = new HallStream({
      token: () => S.token,   // a renewed token on every reconnect
      onSnapshot: (snap) => { applySnapshot(snap); render(); },
      onEvent: (ev) => { applyEvent(ev); render(); },
      onStatus: onConnection
    });
    stream.start();
    renderConnection();
  }

  function onConnection(up, reason) {
    S.connected = up;
    if (up) {
      S.everConnected = true;
      stopPolling();
      renderConnection();
    } else {
      startPolling();
      // The namespace refused the token: check it over HTTP (a 401 there ends the session).
      if (reason === "unauthorized") api("GET", "/me").catch(fail);
    }
    render();
  }

  function disconnect() {
    stopPolling();
    if (stream) { stream.stop(); stream = null; }
    S.connected = false;
  }

  function startPolling() {
    if (pollTimer || !S.token || !S.windowId) return;
    pollTimer = setInterval(pollQueue, POLL_MS);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }
  function pollQueue() {
    if (S.connected || !S.token) return;
    api("GET", "/queue").then((snap) => {
      if (!S.connected) applySnapshot(snap);
    }).catch((err) => { if (err.status === 401) fail(err); });
  }

  // ---------------------------------------------------------------- applying news
  function rankOf(t) { return (t.call_count || 0) * 10 + (t.status === "serving" ? 2 : 1); }

  /** A ticket is (still) at this window, called or serving. Older news never overwrites newer. */
  function takeCurrent(t, kase) {
    if (S.closed[t.id] !== undefined && (t.call_count || 0) <= S.closed[t.id]) return;
    if (S.cur && S.cur.ticket.id === t.id) {
      if (rankOf(t) < rankOf(S.cur.ticket)) return;
      S.cur.ticket = Object.assign({}, S.cur.ticket, t);
      if (kase) S.cur.case = kase;
    } else {
      S.cur = { ticket: Object.assign({}, t), case: kase || loadCase(t.id) };
    }
    if (kase) saveCase(t.id, kase);
  }

  /** A ticket left this window: skipped, transferred or finished. */
  function leaveCurrent(t, how, kase) {
    const count = t.call_count || 0;
    if (S.closed[t.id] === undefined || S.closed[t.id] < count) S.closed[t.id] = count;
    const wasHere = S.cur && S.cur.ticket.id === t.id;
    if (wasHere) {
      S.last = { ticket: t, how, case: kase || S.cur.case };
      S.cur = null;
    }
  }

  function addSkipped(t) {
    S.skipped = S.skipped.filter((x) => x.id !== t.id);
    S.skipped.unshift({ id: t.id, number: t.number, matter_name: t.matter_name, closed_at: t.closed_at,
                        call_count: t.call_count, requeued: !!t.requeued, priority_label: t.priority_label });
    if (S.skipped.length > 100) S.skipped.length = 100;
    saveSkipped();
  }
  function removeSkipped(id) {
    const before = S.skipped.length;
    S.skipped = S.skipped.filter((x) => x.id !== id);
    if (S.skipped.length !== before) saveSkipped();
  }

  function setDay(day) {
    if (!day || day === S.day) return;
    S.day = day;
    S.skipped = load(skippedKey(), []);
    // The server's list is the truth (another browser, a new tab); the local copy shows at once.
    const wid = S.windowId;
    api("GET", "/windows/" + wid + "/skipped").then((data) => {
      if (S.windowId !== wid || S.day !== day) return;
      S.skipped = data.tickets.map((t) => ({ id: t.id, number: t.number, matter_name: t.matter_name, closed_at: t.closed_at,
                 call_count: t.call_count, requeued: !!t.requeued, priority_label: t.priority_label }));
      saveSkipped();
      renderSkipped();
    }).catch(() => { /* keep the local list */ });
    // Yesterday's lists are of no use any more.
    try {
      for (let i = sessionStorage.length - 1; i >= 0; i--) {
        const k = sessionStorage.key(i);
        if (k && k.indexOf(STORE + "skipped.") === 0 && k.slice(-day.length) !== day) sessionStorage.removeItem(k);
      }
    } catch (e) { /* ignore */ }
  }

  function applySnapshot(snap) {
    if (snap.at) clock.sync(snap.at);
    S.hall = snap.hall || S.hall;
    setDay(snap.day);
    S.waiting = snap.waiting || S.waiting;
    S.recent = (snap.recent_calls || []).slice(0, 12);
    const mine = (snap.windows || []).filter((w) => w.id === S.windowId)[0];
    if (!mine) {
      showMessage("本窗口已停用或不存在，请退出后重新选择窗口", "error");
      return;
    }
    S.win = { id: mine.id, number: mine.number, name: mine.name, state: mine.state,
              department: mine.department, waiting: mine.waiting };
    const c = mine.current;   // the whole ticket, with the case it is served in (schemas.Window)
    if (c && (c.status === "called" || c.status === "serving")) {
      takeCurrent(c, c["case"] || null);
    } else if (S.cur) {
      S.cur = null;
    }
  }

  function applyEvent(ev) {
    if (ev.waiting) S.waiting = ev.waiting;
    const w = ev.window;
    const mine = !!(w && w.id === S.windowId);
    if (mine && w.state && S.win) S.win.state = w.state;
    const t = ev.ticket;
    switch (ev.type) {
      case "ticket.called":
      case "ticket.recalled":
        if (t && w) {
          S.recent.unshift({ type: ev.type, at: ev.at, ticket_number: t.number, window_number: w.number,
                             window_name: w.name, recall: ev.type === "ticket.recalled" });
          S.recent.length = Math.min(S.recent.length, 12);
        }
        if (mine && t) takeCurrent(t, null);
        break;
      case "case.accepted":   // a 即办件 stays at the window; a 承诺件's visit ends here
        if (mine && t) {
          if (t.status === "done") leaveCurrent(t, "accepted", ev["case"] || null);
          else takeCurrent(t, ev["case"] || null);
        }
        break;
      case "case.correction":
      case "case.refused":
        if (mine && t) leaveCurrent(t, ev.type === "case.refused" ? "refused" : "correction", ev["case"] || null);
        break;
      case "ticket.skipped":
        if (mine && t) { addSkipped(t); leaveCurrent(t, "skipped"); }
        break;
      case "ticket.transferred":
        if (mine && t) leaveCurrent(t, "transferred", null);
        if (!mine && t && w && ev.to_window && ev.to_window.id === S.windowId) {
          showMessage(w.number + "号窗口转来 " + t.number + "（" + (t.matter_name || "") + "），已按原取号时间排入本窗口队列", "info");
        }
        if (mine && t && S.last && S.last.ticket.id === t.id) S.last.to = ev.to_window || ev.to_matter;
        break;
      case "case.finished":
        if (mine && t) leaveCurrent(t, "finished", ev["case"] || null);
        break;
      case "ticket.requeued":
        if (t) removeSkipped(t.id);
        break;
      case "window.closed":
        if (mine && ev.reason && ev.reason !== "signed_out") {
          showMessage("本窗口已关闭（" + (ev.reason_text || ev.reason) + "），对市民显示「未开放」。点「签到」重新开放", "error");
        }
        break;
      default:
        break;
    }
    if (t && t.status !== "skipped") removeSkipped(t.id);
  }

  // ---------------------------------------------------------------- operations
  function op(path, body) {
    return api("POST", "/windows/" + S.windowId + "/" + path, body === undefined ? {} : body);
  }

  function afterOp() {
    // Without the stream, refresh the counts over HTTP so the screen stays true.
    if (!S.connected) pollQueue();
  }

  function run(action) {
    if (S.busy) {
      // Pressed while the previous operation is on its way (F1 then F4 quickly): do it right
      // after, if it still makes sense then. One slot: a double press does not queue twice.
      S.pending = action;
      return;
    }
    const button = $("btn-" + action);
    if (!button || button.disabled) {
      showMessage("「" + ACTION_WORDS[action] + "」现在不可用" + whyDisabled(action), "info");
      return;
    }
    if (action === "transfer") { openTransfer(); return; }
    if (action === "correct") { openCorrect(); return; }
    if (action === "refuse") { openRefuse(); return; }
    const cur = S.cur ? S.cur.ticket : null;
    let task;
    switch (action) {
      case "call":
        task = op("call-next").then((d) => {
          takeCurrent(d.ticket, null);
          S.last = null;
          showMessage("已叫号：" + d.ticket.number + "（" + d.ticket.matter_name + "）", "ok");
        });
        break;
      case "recall":
        task = op("recall").then((d) => {
          takeCurrent(d.ticket, null);
          showMessage("已重呼：" + d.ticket.number + "（第 " + d.ticket.call_count + " 次呼叫）", "ok");
        });
        break;
      case "skip":
        task = askSkip(cur).then(() => op("skip")).then((d) => {
          addSkipped(d.ticket);
          leaveCurrent(d.ticket, "skipped");
          showMessage(d.ticket.number + " 已过号，市民回来后可在右侧「今日过号」中重新排队", "ok");
        });
        break;
      case "accept":
        // A citizen back with the materials a 补正 notice listed: their waiting case is accepted,
        // not a new one (its clock starts now).
        task = pendingCorrections(cur).then(askWhichCase).then((caseId) => op("accept", caseId ? { case_id: caseId } : {})).then((d) => {
          const t = Object.assign({}, cur, d.ticket);
          const k = d["case"];
          if (t.status === "done") {       // 承诺件: the citizen leaves with the notice; call the next
            leaveCurrent(t, "accepted", k);
            showMessage(t.number + " 已受理，办件编号 " + k.number + "，承诺 " + dueWords(k) +
                        " 前办结（在「办件台」跟进）。可以叫下一位", "ok");
          } else {
            takeCurrent(t, k);
            showMessage(t.number + " 已受理，办件编号 " + k.number, "ok");
          }
        });
        break;
      case "finish":
        task = op("finish").then((d) => {
          const t = Object.assign({}, cur, d.ticket);
          leaveCurrent(t, "finished", d["case"]);
          showMessage(t.number + " 已办结", "ok");
        });
        break;
      case "pause": {
        const pausing = !(S.win && S.win.state === "paused");
        task = op(pausing ? "pause" : "resume").then((d) => {
          if (S.win) S.win.state = d.window.state;
          showMessage(pausing ? "本窗口已暂停服务" : "本窗口已恢复服务", "ok");
        });
        break;
      }
      default:
        return;
    }
    setBusy(true);
    task.catch((err) => {
      if (err.code === "cancelled") return;     // the clerk closed a question dialog: nothing was done
      fail(err);
      // A refusal often means this screen was behind (another tab, a lost event): catch up.
      if (err.status === 409 || err.status === 404) resync();
    }).then(() => { setBusy(false); afterOp(); render(); runPending(); });
  }

  function runPending() {
    const action = S.pending;
    S.pending = null;
    if (action && document.body.getAttribute("data-view") === "main") run(action);
  }

  function resync() {
    if (stream && stream.connected) stream.requestSnapshot(); else pollQueue();
  }

  function requeue(ticketId) {
    if (S.busy) return;
    setBusy(true);
    op("requeue", { ticket_id: ticketId }).then((d) => {
      removeSkipped(ticketId);
      showMessage(d.ticket.number + " 已重新排队", "ok");
    }).catch((err) => {
      fail(err);
      if (err.code === "already_requeued" || err.code === "wrong_state" || err.code === "ticket_expired") {
        // It cannot come back any more: mark it so the button stops inviting a retry.
        S.skipped.forEach((x) => { if (x.id === ticketId) x.requeued = true; });
        saveSkipped();
      }
    }).then(() => { setBusy(false); afterOp(); render(); runPending(); });
  }

  function setBusy(on) {
    S.busy = on;
    document.body.classList.toggle("busy", on);
    renderButtons();
  }

  // ---------------------------------------------------------------- button rules
  function status() { return S.cur ? S.cur.ticket.status : null; }
  function paused() { return !!(S.win && S.win.state === "paused"); }
  function waitingHere() {
    if (!S.waiting || !S.waiting.by_window || S.windowId === null) return null;
    return S.waiting.by_window[String(S.windowId)] || 0;
  }

  function allowed(action) {
    const st = status();
    switch (action) {
      case "call":
        // With the stream down the count may be stale: let the server decide.
        return !paused() && st !== "called" && st !== "serving" && (!S.connected || waitingHere() !== 0);
      case "recall": case "skip": case "accept": case "transfer": case "correct": case "refuse": case "finish": {
        const t = S.cur ? S.cur.ticket : null;
        if (t && t.actions) return t.actions.indexOf(action) >= 0;
        return action === "finish" ? st === "serving" : st === "called";
      }
      case "pause":
        return !!(S.win && S.win.state) && !closed();
      default:
        return false;
    }
  }

  function whyDisabled(action) {
    const st = status();
    if (S.busy) return "：上一个操作还在处理";
    if (action === "call") {
      if (paused()) return "：本窗口已暂停，请先恢复服务";
      if (st === "called") return "：当前号尚未处理（请受理、过号或转移）";
      if (st === "serving") return "：当前号尚未办结";
      if (waitingHere() === 0) return "：本窗口暂无等候";
    }
    if (action === "finish" && st === "called") return "：请先受理";
    if (!st) return "：当前没有号";
    return "";
  }

  // ---------------------------------------------------------------- rendering
  function render() {
    if (document.body.getAttribute("data-view") !== "main") return;
    renderHeader();
    renderConnection();
    renderTicket();
    renderButtons();
    renderWaiting();
    renderSkipped();
    renderRecent();
  }

  function renderHeader() {
    if (S.hall) $("hall-name").textContent = S.hall.name;
    const w = S.win;
    $("window-name").textContent = w && w.number ? w.number + "号窗口 · " + (w.name || "") : "";
    document.title = (w && w.number ? w.number + "号窗口 · " : "") + "窗口叫号";
    const pill = $("window-state");
    pill.hidden = !(w && w.state);
    pill.textContent = closed() ? "未签到 · 未开放" : paused() ? "暂停服务" : "服务中";
    pill.className = "pill " + (closed() ? "closed" : paused() ? "paused" : "open");
    $("paused-note").hidden = !paused();
    $("closed-note").hidden = !closed();
    $("btn-sign").textContent = closed() ? "签到" : "签退";
    $("btn-sign").classList.toggle("primary", closed());
    $("pause-label").textContent = paused() ? "恢复服务" : "暂停服务";
    $("btn-pause").classList.toggle("resume", paused());
  }

  function renderConnection() {
    if (document.body.getAttribute("data-view") !== "main") return;
    const pill = $("conn-state");
    pill.hidden = false;
    if (S.connected) {
      pill.textContent = "实时连接";
      pill.className = "pill conn ok";
    } else {
      pill.textContent = S.everConnected ? "连接中断" : "连接中…";
      pill.className = "pill conn down";
    }
    // The banner says it plainly once a connection was lost (or never came within a moment).
    $("conn-banner").hidden = S.connected || !S.everConnected && !socketSlow();
    document.body.classList.toggle("offline", !S.connected && S.everConnected);
  }
  function socketSlow() { return Date.now() - openedAt > 4000; }

  function renderTicket() {
    const card = $("ticket-card");
    const cur = S.cur;
    const t = cur ? cur.ticket : null;
    card.setAttribute("data-status", t ? t.status : "none");
    $("ticket-number").textContent = t ? t.number : "—";
    $("ticket-status").textContent = t ? (t.status_text || STATUS_WORDS[t.status] || t.status) : (closed() ? "未开放" : paused() ? "暂停中" : "空闲");
    $("ticket-priority").hidden = !(t && t.priority_label);
    $("ticket-priority").textContent = t && t.priority_label
      ? t.priority_label + "优先" + (t.age !== undefined && t.age !== null ? " · " + t.age + "岁" : "") : "";
    if (!t) {
      const hint = closed() ? "未签到：按 F1 叫号将自动签到" : paused() ? "窗口暂停中" : (waitingHere() ? "请按 F1 叫号" : "暂无等候的号");
      $("ticket-matter").textContent = hint;
    } else {
      $("ticket-matter").textContent = t.matter_name || "";
    }
    $("ticket-facts").hidden = !t;
    $("case-box").hidden = !(t && t.status === "serving");
    if (t) {
      $("ticket-calls").textContent = (t.call_count || 0) + " 次";
      $("ticket-issued").textContent = t.issued_at ? hm(parseTime(t.issued_at)) : "—";
      renderTimers();
    }
    if (t && t.status === "serving") {
      const k = cur.case;
      $("case-number").textContent = k ? k.number : "（本页未收到，见受理回执）";
      $("case-kind").textContent = k ? k.kind : "—";
      $("case-accepted").textContent = k && k.accepted_at ? hm(parseTime(k.accepted_at)) : "—";
      const due = k && k.due_at ? parseTime(k.due_at) : null;
      $("case-due").textContent = due ? dateWords(due) + " " + hm(due) : "—";
      if (due && k.due_guessed) {   // counted Mon–Fri through a year the calendar lacks yet
        const note = document.createElement("small");
        note.className = "due-note";
        note.textContent = "暂定：" + HallClock.parts(due).day.slice(0, 4) + "年节假日安排尚未录入，录入后重新计算";
        $("case-due").appendChild(note);
      }
    }
    const last = S.last, line = $("last-line");
    line.hidden = !last || !!t;
    if (last && !t) {
      const words = LEFT_WORDS[last.how] || "";
      let text = "上一位：" + last.ticket.number + " " + words;
      if (last.case && last.how !== "skipped" && last.how !== "transferred") text += " · 办件编号 " + last.case.number;
      if (last.how === "accepted" && last.case && last.case.due_at) text += " · 承诺 " + dueWords(last.case) + " 前办结";
      if (last.how === "transferred" && last.to) text += " → " + (last.to.number ? last.to.number + "号窗口" : last.to.name);
      line.textContent = text;
    }
  }

  function renderTimers() {
    const t = S.cur ? S.cur.ticket : null;
    if (!t) return;
    const issued = parseTime(t.issued_at), called = parseTime(t.called_at);
    $("ticket-waited").textContent = issued && called ? duration(called - issued) : "—";
    if (t.status === "serving" && S.cur.case && S.cur.case.accepted_at) {
      $("ticket-since-label").textContent = "已办理";
      $("ticket-since").textContent = duration(now() - parseTime(S.cur.case.accepted_at));
    } else {
      $("ticket-since-label").textContent = "叫号已过";
      $("ticket-since").textContent = called ? duration(now() - called) : "—";
    }
  }

  function renderButtons() {
    Object.keys(KEYS).forEach((key) => {
      const action = KEYS[key];
      const b = $("btn-" + action);
      const ok = !S.busy && allowed(action);
      b.disabled = !ok;
      b.title = ok ? ACTION_WORDS[action] + "（" + key + "）" : "现在不可用" + whyDisabled(action);
    });
  }

  function renderWaiting() {
    const n = waitingHere();
    $("waiting-mine").textContent = n === null ? "–" : String(n);
    $("waiting-total").textContent = S.waiting ? String(S.waiting.total) : "–";
    document.querySelector(".waiting-panel").classList.toggle("stale", !S.connected);
  }

  function renderSkipped() {
    const list = $("skipped-list");
    list.textContent = "";
    $("skipped-empty").hidden = S.skipped.length > 0;
    $("skipped-count").textContent = S.skipped.length ? "（" + S.skipped.length + "）" : "";
    S.skipped.forEach((x) => {
      const li = document.createElement("li");
      li.setAttribute("data-ticket-id", x.id);
      const num = document.createElement("b"); num.className = "num"; num.textContent = x.number;
      const info = document.createElement("span"); info.className = "info";
      info.textContent = (x.matter_name || "") + (x.closed_at ? " · " + hm(parseTime(x.closed_at)) + " 过号" : "");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "hall-btn requeue";
      b.textContent = x.requeued ? "已重排过" : "重新排队";
      b.disabled = !!x.requeued || S.busy;
      b.title = x.requeued ? "每张号只能重新排队一次，请市民重新取号" : "市民回来了：把 " + x.number + " 放回队列（排在几位之后）";
      b.addEventListener("click", () => { requeue(x.id); });
      li.appendChild(num); li.appendChild(info); li.appendChild(b);
      list.appendChild(li);
    });
  }

  function renderRecent() {
    const list = $("recent-list");
    list.textContent = "";
    const items = S.recent.slice(0, 6);
    $("recent-empty").hidden = items.length > 0;
    items.forEach((r) => {
      const li = document.createElement("li");
      if (S.win && r.window_number === S.win.number) li.className = "mine";
      const num = document.createElement("b"); num.textContent = r.ticket_number;
      const where = document.createElement("span"); where.textContent = "→ " + r.window_number + "号窗口" + (r.recall ? "（重呼）" : "");
      const at = document.createElement("time"); at.textContent = r.at ? hm(parseTime(r.at)) : "";
      li.appendChild(num); li.appendChild(where); li.appendChild(at);
      list.appendChild(li);
    });
  }

  function tick() {
    $("clock").textContent = hms(now());
    if (document.body.getAttribute("data-view") === "main") {
      renderTimers();
      if (!S.everConnected) renderConnection();
    }
  }

  // ---------------------------------------------------------------- transfer dialog
  function openTransfer() {
    const cur = S.cur ? S.cur.ticket : null;
    if (!cur) return;
    transferChoice = null;
    $("transfer-error").hidden = true;
    $("transfer-ticket").textContent = cur.number + "（" + (cur.matter_name || "") + "）";
    $("transfer-filter").value = "";
    updateTransferChoice();
    $("transfer-windows").innerHTML = '<p class="empty">正在加载…</p>';
    $("transfer-matters").textContent = "";
    $("transfer-dialog").showModal();
    // Only where it can be done: open windows serving the ticket's matter, and matters with an
    // open window (GET transfer-targets); the server refuses anything else with its reason.
    const targets = api("GET", "/windows/" + S.windowId + "/transfer-targets");
    const catalogue = S.catalogue ? Promise.resolve(S.catalogue) : api("GET", "/matters");
    Promise.all([targets, catalogue]).then((res) => {
      S.catalogue = res[1];
      S.transferTargets = res[0];
      renderTransferWindows(res[0].windows, res[1]);
      renderTransferMatters();
    }).catch((err) => {
      $("transfer-dialog").close();
      fail(err);
    });
  }

  function renderTransferWindows(windows, cat) {
    const box = $("transfer-windows");
    box.textContent = "";
    const assigned = {};
    (cat.windows || []).forEach((w) => { assigned[w.id] = w.staff_name; });
    if (!windows.length) {
      const none = document.createElement("p"); none.className = "empty";
      none.textContent = "没有其他开放中的窗口办理本事项（未签到或暂停的窗口不能转入）";
      box.appendChild(none);
    }
    windows.filter((w) => w.id !== S.windowId).forEach((w) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "pick";
      b.setAttribute("data-window-id", w.id);
      const who = (w.staff && w.staff.name) || w.staff || assigned[w.id] || "";
      const head = document.createElement("b"); head.textContent = w.number + "号窗口";
      const sub = document.createElement("span");
      sub.textContent = (w.name || "") + (who ? " · " + who : "");
      const meta = document.createElement("small");
      meta.textContent = (w.state === "paused" ? "暂停中 · " : "") + "等候 " + (w.waiting || 0) + " 人";
      if (w.state === "paused") b.classList.add("paused");
      b.appendChild(head); b.appendChild(sub); b.appendChild(meta);
      b.addEventListener("click", () => {
        choose(b, { to_window: w.id }, w.number + "号窗口（" + (w.name || "") + "）");
      });
      box.appendChild(b);
    });
  }

  function renderTransferMatters() {
    const box = $("transfer-matters");
    box.textContent = "";
    const cat = S.catalogue;
    if (!cat || !S.transferTargets) return;
    const q = $("transfer-filter").value.trim().toLowerCase();
    const cur = S.cur ? S.cur.ticket : null;
    const byDept = {};
    S.transferTargets.matters.forEach((m) => {
      if (q && m.name.toLowerCase().indexOf(q) < 0 && (m.pinyin || "").toLowerCase().indexOf(q) < 0 &&
          (m.department_name || "").indexOf(q) < 0) return;
      (byDept[m.department_name] = byDept[m.department_name] || []).push(m);
    });
    const names = Object.keys(byDept);
    if (!names.length) {
      const p = document.createElement("p"); p.className = "empty";
      p.textContent = q ? "没有符合的事项（只列有窗口开放的事项）" : "没有其他有窗口开放的事项";
      box.appendChild(p);
    }
    names.forEach((dept) => {
      const h = document.createElement("h4"); h.textContent = dept;
      box.appendChild(h);
      byDept[dept].forEach((m) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "pick matter";
        b.setAttribute("data-matter-id", m.id);
        const name = document.createElement("b"); name.textContent = m.name;
        const meta = document.createElement("small");
        meta.textContent = m.kind + (m.window_ids && m.window_ids.length ? " · " + windowNumbers(m.window_ids) : "");
        b.appendChild(name); b.appendChild(meta);
        if (cur && cur.matter_id === m.id) { b.disabled = true; b.title = "当前号已是此事项"; }
        if (transferChoice && transferChoice.body.to_matter === m.id) b.classList.add("chosen");
        b.addEventListener("click", () => { choose(b, { to_matter: m.id }, "事项「" + m.name + "」"); });
        box.appendChild(b);
      });
    });
  }

  function windowNumbers(ids) {
    const numbers = {};
    (S.catalogue.windows || []).forEach((w) => { numbers[w.id] = w.number; });
    return ids.map((id) => numbers[id]).filter(Boolean)
      .sort((a, b) => a - b).join("、") + "号窗口";
  }

  function choose(button, body, words) {
    transferChoice = { body, words };
    document.querySelectorAll("#transfer-dialog .pick.chosen").forEach((b) => { b.classList.remove("chosen"); });
    button.classList.add("chosen");
    updateTransferChoice();
  }

  function updateTransferChoice() {
    $("transfer-choice").textContent = transferChoice ? "转到：" + transferChoice.words : "请选择要转到的窗口或事项";
    $("transfer-confirm").disabled = !transferChoice || S.busy;
  }

  function confirmTransfer() {
    if (!transferChoice || S.busy) return;
    const choice = transferChoice;
    setBusy(true);
    $("transfer-confirm").disabled = true;
    op("transfer", choice.body).then((d) => {
      $("transfer-dialog").close();
      leaveCurrent(d.ticket, "transferred");
      if (S.last && S.last.ticket.id === d.ticket.id) {
        S.last.to = choice.body.to_window ? { number: (S.catalogue.windows.filter((w) => w.id === choice.body.to_window)[0] || {}).number }
                                          : { name: choice.words };
      }
      showMessage(d.ticket.number + " 已转到" + choice.words + "，按原取号时间排队", "ok");
    }).catch((err) => {
      // The dialog covers the page's message bar: say it inside the dialog too.
      $("transfer-error").textContent = err.message;
      $("transfer-error").hidden = false;
      fail(err);
    }).then(() => { setBusy(false); updateTransferChoice(); afterOp(); render(); runPending(); });
  }

  // ---------------------------------------------------------------- 补正 and 不予受理
  function matterOf(t) {
    const cat = S.catalogue;
    return cat ? (cat.matters || []).filter((m) => m.id === t.matter_id)[0] : null;
  }

  function openCorrect() {
    const t = S.cur ? S.cur.ticket : null;
    if (!t) return;
    $("correct-ticket").textContent = t.number + " · " + (t.matter_name || "");
    $("correct-error").hidden = true;
    const list = $("correct-list");
    list.textContent = "加载中…";
    $("correct-dialog").showModal();
    const catalogue = S.catalogue ? Promise.resolve(S.catalogue) : api("GET", "/matters");
    catalogue.then((cat) => {
      S.catalogue = cat;
      const m = matterOf(t);
      list.textContent = "";
      ((m && m.materials) || []).forEach((name, i) => {
        const label = document.createElement("label");
        label.className = "material";
        const box = document.createElement("input");
        box.type = "checkbox"; box.value = name; box.id = "missing-" + i;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + name));
        list.appendChild(label);
      });
      if (!list.children.length) list.textContent = "本事项没有登记申请材料，无法出具补正告知";
      updateCorrectCount();
    }).catch(fail);
  }

  function missingChosen() {
    return Array.prototype.map.call(document.querySelectorAll("#correct-list input:checked"), (b) => b.value);
  }
  function updateCorrectCount() {
    const n = missingChosen().length;
    $("correct-count").textContent = n ? "已勾选 " + n + " 项缺少的材料" : "尚未勾选";
    $("correct-confirm").disabled = !n || S.busy;
  }

  function confirmCorrect() {
    const missing = missingChosen();
    if (!missing.length || S.busy) return;
    const cur = S.cur ? S.cur.ticket : null;
    setBusy(true);
    op("correct", { missing }).then((d) => {
      $("correct-dialog").close();
      leaveCurrent(Object.assign({}, cur, d.ticket), "correction", d["case"]);
      showMessage(d.ticket.number + " 已出具一次性补正告知（缺 " + missing.length + " 项），办件 " + d["case"].number + " 待补正", "ok");
      showNotice(d["case"]);
    }).catch((err) => {
      $("correct-error").textContent = err.message;
      $("correct-error").hidden = false;
      fail(err);
    }).then(() => { setBusy(false); updateCorrectCount(); afterOp(); render(); runPending(); });
  }

  /** On the window's own printer when it has one (the same print path as the kiosk's slip);
   *  without one, through the browser's print dialog. */
  function printNotice() {
    const kase = S.noticeCase;
    if (!kase || S.printing) return;
    S.printing = true;
    $("notice-print").disabled = true;
    api("POST", "/cases/" + kase.id + "/correction-notice/print", { window_id: S.windowId }).then((d) => {
      showMessage(d.message, d.outcome === "printed" ? "ok" : "info");
      if (d.outcome === "printed") $("notice-dialog").close();
      else $("notice-hint").textContent = d.message;
    }).catch((err) => {
      if (err.code === "no_desk_printer") {
        document.body.classList.add("printing-notice");
        window.print();
        document.body.classList.remove("printing-notice");
      } else {
        $("notice-hint").textContent = err.message;
        fail(err);
      }
    }).then(() => { S.printing = false; $("notice-print").disabled = false; });
  }

  /** The notice as the printer would print it (a picture of the very bytes), for the window's printer. */
  function showNotice(kase) {
    S.noticeCase = kase;
    const img = $("notice-img");
    $("notice-hint").textContent = "办件 " + kase.number + " · 请打印交给申请人";
    api("GET", "/cases/" + kase.id + "/correction-notice?format=png", undefined, { raw: true }).then((res) => res.blob()).then((blob) => {
      if (img.src) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(blob);
      $("notice-dialog").showModal();
    }).catch(fail);
  }

  function openRefuse() {
    const t = S.cur ? S.cur.ticket : null;
    if (!t) return;
    $("refuse-ticket").textContent = t.number + " · " + (t.matter_name || "");
    $("refuse-error").hidden = true;
    $("refuse-reason").value = "";
    $("refuse-dialog").showModal();
    $("refuse-reason").focus();
  }

  function confirmRefuse() {
    const reason = $("refuse-reason").value.trim();
    if (!reason) {
      $("refuse-error").textContent = "请写明不予受理的理由";
      $("refuse-error").hidden = false;
      return;
    }
    if (S.busy) return;
    const cur = S.cur ? S.cur.ticket : null;
    setBusy(true);
    op("refuse", { reason }).then((d) => {
      $("refuse-dialog").close();
      leaveCurrent(Object.assign({}, cur, d.ticket), "refused", d["case"]);
      showMessage(d.ticket.number + " 不予受理，理由已记录（办件 " + d["case"].number + "）", "ok");
    }).catch((err) => {
      $("refuse-error").textContent = err.message;
      $("refuse-error").hidden = false;
      fail(err);
    }).then(() => { setBusy(false); afterOp(); render(); runPending(); });
  }

  /** This matter's cases of the department waiting for materials (at most a few a day). */
  function pendingCorrections(t) {
    if (!t) return Promise.resolve([]);
    return api("GET", "/cases?scope=department&status=correction&limit=20&matter_id=" + t.matter_id)
      .then((d) => d.cases)
      .catch(() => []);   // the desk unreachable: a new case, as before
  }

  /** null: a new application; a case id: the 补正 case the citizen completes; rejects when cancelled. */
  function askWhichCase(cases) {
    if (!cases.length) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const list = $("resume-list");
      list.textContent = "";
      const dialog = $("resume-dialog");
      function cancelled() {
        dialog.removeEventListener("close", cancelled);
        reject(new ApiError("cancelled", "", 0));
      }
      function done(value) {
        dialog.removeEventListener("close", cancelled);
        dialog.close();
        resolve(value);
      }
      cases.forEach((k) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "pick";
        b.setAttribute("data-case", k.id);
        const when = k.received_at ? parseTime(k.received_at) : null;
        b.textContent = k.number + " · " + (when ? dateWords(when) + " " + hm(when) + " 收件" : "") +
                        " · 缺 " + (k.missing || []).join("、");
        b.addEventListener("click", () => { done(k.id); });
        list.appendChild(b);
      });
      $("resume-new").onclick = function () { done(null); };
      $("resume-cancel").onclick = function () { dialog.close(); };
      dialog.addEventListener("close", cancelled);
      dialog.showModal();
    });
  }

  function anyDialogOpen() {
    return ["correct-dialog", "refuse-dialog", "notice-dialog", "resume-dialog", "skip-dialog"].some((id) => $(id).open);
  }

  // 过号 asks first: a skipped citizen who is on the way loses the place (one requeue only).
  function askSkip(t) {
    return new Promise((resolve, reject) => {
      const dialog = $("skip-dialog");
      let answered = false;
      $("skip-title").textContent = "确认 " + (t ? t.number : "") + " 过号？";
      $("skip-hint").textContent = "已呼叫 " + ((t && t.call_count) || 0) + " 次。过号后市民回来时可在「今日过号」中重新排队一次。";
      function done(ok) {
        if (answered) return;
        answered = true;
        dialog.removeEventListener("close", onClose);
        if (dialog.open) dialog.close();
        if (ok) resolve(); else reject(new ApiError("cancelled", "已取消", 0));
      }
      function onClose() { done(false); }
      $("skip-confirm").onclick = function () { done(true); };
      $("skip-cancel").onclick = function () { done(false); };
      dialog.addEventListener("close", onClose);
      dialog.showModal();
      $("skip-confirm").focus();
    });
  }

  // ---------------------------------------------------------------- keyboard
  function onKey(e) {
    const action = KEYS[e.key];
    stillHere();
    if (anyDialogOpen()) { if (action) e.preventDefault(); return; }
    if ($("transfer-dialog").open) {
      if (action) e.preventDefault();
      if (e.key === "Enter" && transferChoice && e.target.id !== "transfer-filter" &&
          !e.target.closest(".transfer-foot")) { e.preventDefault(); confirmTransfer(); }
      return;  // Esc closes the dialog by itself
    }
    if (!action) return;
    e.preventDefault();   // F1 would open the browser's help, F3 its search
    if (document.body.getAttribute("data-view") !== "main" || e.repeat) return;
    run(action);
  }

  // ---------------------------------------------------------------- start
  function init() {
    $("login-form").addEventListener("submit", onLogin);
    $("btn-logout").addEventListener("click", logout);
    $("choose-logout").addEventListener("click", logout);
    $("btn-switch").addEventListener("click", () => { chooseWindow(selectableWindows()); });
    $("btn-sign").addEventListener("click", () => { if (closed()) signIn(true); else signOut(); });
    document.addEventListener("click", stillHere);
    $("message-close").addEventListener("click", () => { showMessage(""); });
    $("actions").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-action]");
      if (b) run(b.getAttribute("data-action"));
    });
    $("transfer-cancel").addEventListener("click", () => { $("transfer-dialog").close(); });
    $("transfer-confirm").addEventListener("click", confirmTransfer);
    $("transfer-filter").addEventListener("input", renderTransferMatters);
    $("transfer-dialog").addEventListener("close", () => { transferChoice = null; });
    $("correct-list").addEventListener("change", updateCorrectCount);
    $("correct-cancel").addEventListener("click", () => { $("correct-dialog").close(); });
    $("correct-confirm").addEventListener("click", confirmCorrect);
    $("refuse-cancel").addEventListener("click", () => { $("refuse-dialog").close(); });
    $("refuse-confirm").addEventListener("click", confirmRefuse);
    $("notice-close").addEventListener("click", () => { $("notice-dialog").close(); });
    $("notice-print").addEventListener("click", printNotice);
    document.addEventListener("keydown", onKey);
    setInterval(tick, 1000);

    S.token = load("token", null);
    S.staff = load("staff", null);
    tick();
    if (!S.token || !S.staff) { showLogin(""); return; }
    // A stored session: check it is still valid before showing the window.
    api("GET", "/me").then(() => { afterLogin(); }).catch((err) => {
      if (err.status === 401) endSession("登录已过期，请重新登录");
      else { showLogin(""); $("login-error").textContent = err.message; $("login-error").hidden = false; }
    });
  }

  // A read-only handle for tests and for a support engineer at the console.
  window.hallCaller = {
    state: S,
    stream: () => stream,
    receive: (ev) => { if (stream) stream.receive(ev); },
    socket: () => stream && stream.socket
  };

  init();
})();
