/* 综合屏: the hall TV. Shows the call just made (large, flashing), the last calls, every window's
 * state, the waiting count per category, the hall notice; says each call aloud, one at a time.
 *
 * State = the last snapshot + the events after it (the kit's stream.js keeps the seq order). Calls are
 * announced only from live events, never from a snapshot (a reconnect must not replay old calls),
 * except calls that arrived while a snapshot was awaited and that the snapshot then covered.
 *
 * The big 「请 X 号到 N 号窗口」 panel tells only the truth: it shows the latest call whose ticket is
 * still at that window (called, or just 受理 for the latest call) and whose window is not paused.
 * When that ticket is finished, skipped or transferred, or its window pauses, the panel falls back
 * to the latest call still waiting for its person, or to the welcome line. A call nobody came to
 * is said once more after the hall's `call_repeat_seconds` (unless the clerk recalled it).
 */
(() => {
  "use strict";

  const RECENT_MAX = 6;       // rows of the 最近叫号 panel (its grid has exactly this many)
  const VOICE_QUEUE_MAX = 12;
  const VOICE_STALE_MS = 90 * 1000;   // a call still unspoken after this is dropped, not read late
  const VOICE_GAP_MS = 350;           // silence between two announcements
  const VOICE_GUARD_MS = 20000;       // an announcement that never ends is given up
  const SILENT_WAV = "/static/display/silent.wav";  // a file, not a data: URL (the CSP allows media from this server only)

  const $ = (id) => document.getElementById(id);
  const token = HallDevice.tokenFromUrl();
  const clock = new HallClock();

  const S = {
    hall: null, windows: {}, order: [], waiting: { total: 0, by_prefix: {} },
    recent: [], call: null, prefixNames: {}, notice: "", connected: false, flashes: 0,
    repeatSeconds: 30, repeats: {}
  };
  const V = { enabled: false, queue: [], playing: null, log: [] };

  // ------------------------------------------------------------------ state
  function onSnapshot(snap, covered) {
    clock.sync(snap.at);
    renderClock();
    S.hall = snap.hall;
    S.windows = {};
    S.order = [];
    (snap.windows || []).forEach((w) => {
      S.windows[w.id] = { id: w.id, number: w.number, name: w.name, state: w.state,
                          current: w.current ? { id: w.current.id, number: w.current.number, status: w.current.status } : null };
      S.order.push(w.id);
    });
    S.waiting = snap.waiting || S.waiting;
    const shown = S.call;
    S.recent = (snap.recent_calls || []).map((c) => ({ ticket: c.ticket_number, window: c.window_number, windowName: c.window_name, recall: c.recall, flash: 0 }));
    // The call on screen keeps its flash number: a resync must not flash it again.
    const latest = S.recent[0];
    if (latest && shown && shown.ticket === latest.ticket && shown.window === latest.window) latest.flash = shown.flash;
    // Calls we heard live but that the snapshot took over: still say them if they are fresh.
    (covered || []).forEach((e) => {
      if ((e.type === "ticket.called" || e.type === "ticket.recalled") && Date.now() - e._received < 10000) {
        announce(e.ticket.number, e.window.number, e.type === "ticket.recalled");
      }
    });
    render();
  }

  function onEvent(e) {
    const w = e.window && S.windows[e.window.id];
    if (e.waiting) S.waiting = e.waiting;
    if (w && e.window.state) w.state = e.window.state;
    const t = e.ticket;
    switch (e.type) {
      case "ticket.called":
      case "ticket.recalled": {
        const recall = e.type === "ticket.recalled";
        if (w) w.current = { id: t.id, number: t.number, status: "called" };
        S.recent.unshift({ ticket: t.number, window: e.window.number, windowName: e.window.name, recall,
                           flash: ++S.flashes });
        S.recent = S.recent.slice(0, 12);
        announce(t.number, e.window.number, recall);
        scheduleRepeat(e.window.id, t.id, t.number, recall);
        break;
      }
      case "case.accepted":   // a 即办件 is served on at the window; a 承诺件's visit ends at 受理
        if (w && w.current && t && w.current.id === t.id) {
          if (t.status === "serving") w.current.status = "serving"; else w.current = null;
        }
        break;
      case "day.closed":      // whatever was still called is closed with the day
        Object.keys(S.windows).forEach((id) => { S.windows[id].current = null; });
        break;
      case "case.finished":
      case "case.correction":
      case "case.refused":
      case "ticket.skipped":
      case "ticket.transferred":
        if (w && w.current && t && w.current.id === t.id) w.current = null;
        break;
      default:
        break;  // issued, requeued, paused, resumed, window.opened/closed: counts and state above; device.* etc: seq only
    }
    render();
    if (e.type === "ticket.called" || e.type === "ticket.recalled") window.hallTV.lastCallShownAt = performance.now();
  }

  // ------------------------------------------------------------------ rendering
  function text(el, value) { if (el.textContent !== value) el.textContent = value; }
  function el(tag, cls, content) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (content !== undefined) n.textContent = content;
    return n;
  }

  function windowByNumber(number) {
    for (let i = 0; i < S.order.length; i++) if (S.windows[S.order[i]].number === number) return S.windows[S.order[i]];
    return null;
  }

  // The recent call the big panel may show (see the top of this file), or null.
  function liveCall() {
    for (let i = 0; i < S.recent.length; i++) {
      const c = S.recent[i], w = windowByNumber(c.window);
      if (!w || w.state === "paused" || w.state === "closed" || !w.current || w.current.number !== c.ticket) continue;
      if (w.current.status === "called" || (i === 0 && w.current.status === "serving")) return c;
    }
    return null;
  }

  // ------------------------------------------------------------------ the repeated call
  function scheduleRepeat(windowId, ticketId, number, recall) {
    const old = S.repeats[windowId];
    if (old) { clearTimeout(old.timer); delete S.repeats[windowId]; }
    if (recall || !(S.repeatSeconds > 0)) return;     // the clerk's recall is the repeat
    const item = { ticketId, number };
    item.timer = setTimeout(() => {
      delete S.repeats[windowId];
      const w = S.windows[windowId];
      if (!w || w.state === "paused" || w.state === "closed" || !w.current || w.current.id !== ticketId ||
          w.current.status !== "called") return;
      S.recent.unshift({ ticket: number, window: w.number, windowName: w.name, recall: true, flash: ++S.flashes,
                         repeat: true });
      S.recent = S.recent.slice(0, 12);
      announce(number, w.number, true);
      render();
    }, S.repeatSeconds * 1000);
    S.repeats[windowId] = item;
  }

  function render() {
    if (S.hall) { text($("hall-name"), S.hall.name); document.title = S.hall.name + " · 叫号综合屏"; }
    S.call = liveCall();
    renderCall();
    renderRecent();
    renderWindows();
    renderWaiting();
  }

  function renderCall() {
    const card = $("call-card"), c = S.call;
    $("call-idle").hidden = !!c;
    $("call-body").hidden = !c;
    if (!c) { card.dataset.state = "none"; return; }
    text($("call-label"), c.recall ? "再次呼叫" : "正在呼叫");
    text($("call-ticket"), c.ticket);
    text($("call-window"), String(c.window));
    text($("call-window-name"), c.windowName || "");
    card.dataset.state = c.recall ? "recall" : "call";
    if (c.flash && c.flash > Number(card.dataset.flash || 0)) {   // a new call or recall; not a fallback to an older one
      card.dataset.flash = String(c.flash);
      card.classList.remove("flash");
      void card.offsetWidth;           // restart the animation: a recall flashes again
      card.classList.add("flash");
    }
  }

  function renderRecent() {
    const list = $("recent-list");
    const items = S.recent.filter((c) => c !== S.call && !c.repeat).slice(0, RECENT_MAX);
    list.textContent = "";
    items.forEach((c) => {
      const li = el("li", c.recall ? "recall" : "");
      li.appendChild(el("span", "r-ticket", c.ticket));
      li.appendChild(el("span", "r-arrow", "→"));
      li.appendChild(el("span", "r-window", c.window + "号窗口"));
      if (c.recall) li.appendChild(el("span", "r-tag", "重呼"));
      list.appendChild(li);
    });
    $("recent-empty").hidden = items.length > 0;
  }

  function renderWindows() {
    const grid = $("window-grid");
    const n = S.order.length;
    const rows = n > 16 ? 3 : 2;
    grid.style.setProperty("--cols", String(Math.max(1, Math.ceil(n / rows))));
    grid.style.setProperty("--rows", String(rows));
    grid.textContent = "";
    S.order.forEach((id) => {
      const w = S.windows[id];
      const tile = el("div", "win");
      const shut = w.state === "paused" || w.state === "closed";   // closed: nobody signed in (未开放)
      tile.dataset.state = shut ? w.state : (w.current ? w.current.status : "idle");
      tile.dataset.number = String(w.number);
      if (S.call && S.call.window === w.number && S.call.flash) tile.classList.add("just-called");
      const head = el("div", "win-head");
      head.appendChild(el("span", "win-no", w.number + "号"));
      head.appendChild(el("span", "win-name", w.name));
      tile.appendChild(head);
      if (shut) {
        tile.appendChild(el("div", "win-now paused", w.state === "closed" ? "未开放" : "暂停服务"));
      } else {
        tile.appendChild(el("div", "win-state", w.current ? (w.current.status === "serving" ? "办理中" : "请到窗口") : "空闲"));
        tile.appendChild(el("div", "win-now" + (w.current ? "" : " idle"), w.current ? w.current.number : "—"));
      }
      grid.appendChild(tile);
    });
  }

  function renderWaiting() {
    const list = $("waiting-list"), by = (S.waiting && S.waiting.by_prefix) || {};
    text($("waiting-total"), String((S.waiting && S.waiting.total) || 0));
    const prefixes = Object.keys(S.prefixNames).length ? Object.keys(S.prefixNames) : Object.keys(by);
    prefixes.sort();
    list.textContent = "";
    list.classList.toggle("two-cols", prefixes.length > 6);
    prefixes.forEach((p) => {
      const li = el("li", (by[p] || 0) ? "" : "zero");
      li.appendChild(el("span", "q-prefix", p));
      li.appendChild(el("span", "q-name", S.prefixNames[p] || ""));
      const n = el("span", "q-count");
      n.appendChild(el("b", "", String(by[p] || 0)));
      n.appendChild(document.createTextNode("人"));
      li.appendChild(n);
      list.appendChild(li);
    });
    $("waiting-empty").hidden = prefixes.length > 0;
  }

  function renderClock() {
    const p = clock.parts();
    text($("date"), p.date);
    text($("weekday"), p.weekday);
    text($("time"), p.time);
  }

  function renderConnection(connected) {
    S.connected = connected;
    $("conn-badge").hidden = connected;
    document.body.classList.toggle("offline", !connected);
  }

  function renderTicker() {
    const t = $("ticker-text");
    text(t, S.notice || "");
    document.querySelector(".ticker").hidden = !S.notice;
    // About 8 characters per second across the screen, whatever its width.
    t.style.animationDuration = Math.max(20, Math.round((S.notice || "").length / 4 + 18)) + "s";
  }

  // ------------------------------------------------------------------ catalogue (notice, category names)
  function loadCatalogue() {
    HallApi.call("GET", "/matters", { token }).then((cat) => {
      S.notice = (cat.hall && cat.hall.notice) || "";
      if (cat.hall && typeof cat.hall.call_repeat_seconds === "number") S.repeatSeconds = cat.hall.call_repeat_seconds;
      const names = {};
      (cat.matters || []).forEach((m) => {
        const list = names[m.prefix] = names[m.prefix] || [];
        if (list.indexOf(m.department_name) < 0) list.push(m.department_name);
      });
      S.prefixNames = {};
      Object.keys(names).forEach((p) => { S.prefixNames[p] = names[p].join("、"); });
      if (!S.hall && cat.hall) S.hall = { code: cat.hall.code, name: cat.hall.name };
      renderTicker();
      render();
    }).catch(() => { setTimeout(loadCatalogue, 10000); });
  }

  // ------------------------------------------------------------------ voice
  function announce(ticket, windowNumber, recall) {
    if (!ticket || !windowNumber) return;
    V.queue.push({ ticket, window: windowNumber, recall: !!recall, queuedAt: Date.now(),
                   url: "/display/voice/" + encodeURIComponent(ticket) + "/" + windowNumber + ".wav" + (recall ? "?recall=1" : "") });
    if (V.queue.length > VOICE_QUEUE_MAX) V.queue.splice(0, V.queue.length - VOICE_QUEUE_MAX);
    pump();
  }

  function pump() {
    if (V.playing || !V.enabled) return;
    const now = Date.now();
    V.queue = V.queue.filter((it) => now - it.queuedAt < VOICE_STALE_MS);
    const item = V.queue.shift();
    if (!item) return;
    V.playing = item;
    const audio = new Audio(item.url);
    const guard = setTimeout(() => { done("timeout"); }, VOICE_GUARD_MS);
    function done(how) {
      if (V.playing !== item) return;
      clearTimeout(guard);
      item.end = performance.now();
      item.how = how;
      V.log.push(item);
      if (V.log.length > 50) V.log.shift();
      V.playing = null;
      setTimeout(pump, VOICE_GAP_MS);
    }
    audio.addEventListener("ended", () => { done("ended"); });
    audio.addEventListener("error", () => { done("error"); });
    item.start = performance.now();
    const p = audio.play();
    if (p && p.catch) p.catch((err) => {
      if (err && err.name === "NotAllowedError") {   // autoplay blocked: wait for a tap, keep the call
        clearTimeout(guard);
        V.playing = null;
        V.queue.unshift(item);
        setVoice(false);
      } else {
        done("error");
      }
    });
  }

  function setVoice(enabled) {
    V.enabled = enabled;
    $("voice-overlay").hidden = enabled;
    if (enabled) pump();
  }

  function probeAutoplay() {
    const a = new Audio(SILENT_WAV);
    const p = a.play();
    if (!p || !p.then) { setVoice(true); return; }
    p.then(() => { setVoice(true); }).catch(() => { setVoice(false); });
  }

  function enableByTap() {
    if (V.enabled) return;
    const a = new Audio(SILENT_WAV);
    const p = a.play();
    if (p && p.then) p.then(() => { setVoice(true); }).catch(() => { setVoice(false); });
    else setVoice(true);
  }

  // ------------------------------------------------------------------ start
  function start() {
    if (!token) {
      const box = $("token-error");
      box.textContent = "缺少设备令牌：请用 /display#token=设备令牌 打开本页";
      box.hidden = false;
      return;
    }
    renderClock();
    setInterval(renderClock, 1000);
    loadCatalogue();
    setInterval(loadCatalogue, 10 * 60 * 1000);
    probeAutoplay();
    document.addEventListener("click", enableByTap);
    document.addEventListener("keydown", enableByTap);
    renderConnection(false);
    const stream = new HallStream({ token, onSnapshot, onEvent,
      onStatus: (ok, why) => {
        renderConnection(ok);
        if (!ok && why === "unauthorized") {
          const box = $("token-error");
          box.textContent = "设备令牌无效或已停用，请联系管理员";
          box.hidden = false;
        } else if (ok) { $("token-error").hidden = true; }
      } });
    const beats = HallDevice.startHeartbeat(token, () => ({ screen: "ok", socket: stream.socketStatus(), voice: V.enabled ? "ok" : "blocked" }));
    window.hallTV = { state: S, voice: V, stream, beats, lastCallShownAt: null };
    stream.start();
  }

  start();
})();
