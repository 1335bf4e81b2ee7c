/* 评价器: the rating tablet at one window. Idle shows the clerk; when this window's case is
 * finished (`case.finished` on /hall) it offers the five levels — none pre-selected, all alike —
 * with reason tags for 不满意/非常不满意, posts one `channel: device` rating for that case, thanks
 * the citizen and goes back to idle (also after RATE_TIMEOUT_MS without a rating).
 */
(() => {
  "use strict";

  // How long the five levels stay up after 办结 (per device: /rater?token=…&timeout=30).
  const RATE_TIMEOUT_MS = Math.min(300, Math.max(1, Number((/[?&]timeout=(\d+)/.exec(location.search) || [])[1]) || 20)) * 1000;
  const THANKS_MS = 6000;
  const LOW_LEVELS = { 1: true, 2: true };
  // Used only if the server's catalogue (GET /ratings/levels) cannot be read.
  const FALLBACK_TAGS = ["服务态度差", "办事效率低", "一次性告知不清", "多次跑动", "其他"];

  const $ = (id) => document.getElementById(id);
  const token = HallDevice.tokenFromUrl();
  const clock = new HallClock();
  const S = { windowId: null, window: null, staff: null, department: null, hall: null, view: "idle",
            caseInfo: null, level: null, tags: [], sending: false, connected: false, tagsByLevel: {} };
  const posts = [];
  let stream = null;
  let idleTimer = null, tickTimer = null, deadline = 0;

  function show(view) {
    S.view = view;
    document.body.dataset.view = view;
    $("idle-view").hidden = view !== "idle";
    $("rate-view").hidden = view !== "rate";
    $("thanks-view").hidden = view !== "thanks";
  }

  function renderClerk() {
    const w = S.window;
    if (S.hall) $("hall-name").textContent = S.hall.name;
    if (w) $("window-name").textContent = w.number + "号窗口 · " + w.name;
    const staff = S.staff;
    $("clerk-name").textContent = staff ? staff.name : "工作人员";
    $("clerk-no").textContent = staff && staff.staff_no ? "工号 " + staff.staff_no : "";
    $("clerk-dept").textContent = S.department || "";
    $("avatar").textContent = staff && staff.name ? staff.name.charAt(0) : "窗";
  }

  function renderClock() {
    const p = clock.parts();
    $("clock").textContent = p.time.slice(0, 5);
  }

  // ------------------------------------------------------------------ stream
  function onSnapshot(snap) {
    clock.sync(snap.at);
    renderClock();
    S.hall = snap.hall;
    (snap.windows || []).forEach((w) => {
      if (w.id === S.windowId) {
        S.window = w;
        if (w.staff) S.staff = w.staff;
        S.department = w.department;
      }
    });
    renderClerk();
    if (!S.checked) { S.checked = true; checkPending(); }
  }

  function onEvent(e) {
    if (!e.window || e.window.id !== S.windowId) return;
    if (e.type === "case.finished" && e.case) {
      if (e.case.staff) S.staff = e.case.staff;
      renderClerk();
      startRating(e.case, null, "finish");
    } else if (e.type === "case.accepted" && e.case && e.ticket && e.ticket.status === "done") {
      // A 承诺件: the citizen leaves at 受理 and is rated at that node now (办结 comes days later, by SMS).
      if (e.case.staff) S.staff = e.case.staff;
      renderClerk();
      startRating(e.case, null, "accept");
    } else if (e.type === "ticket.called" && !S.staff) {
      stream.requestSnapshot();     // a clerk signed in at this window: learn who
    }
  }

  // ------------------------------------------------------------------ rating
  function setButtons(enabled) {
    const all = document.querySelectorAll(".level, .tag, #tags-submit, #tags-back");
    for (let i = 0; i < all.length; i++) all[i].disabled = !enabled;
  }

  function startRating(kase, timeoutMs, node) {
    S.caseInfo = { id: kase.id, number: kase.number, matter: kase.matter_name, node: node || "finish" };
    S.level = null;
    S.tags = [];
    S.sending = false;
    $("case-line").textContent = (kase.matter_name || "") + (kase.number ? " · 办件编号 " + kase.number : "");
    $("tags").hidden = true;
    const levels = document.querySelectorAll(".level");
    for (let i = 0; i < levels.length; i++) levels[i].classList.remove("chosen");
    const tags = document.querySelectorAll(".tag");
    for (let j = 0; j < tags.length; j++) tags[j].classList.remove("on");
    setButtons(true);
    $("levels").classList.remove("picked");
    show("rate");
    armTimeout(timeoutMs || RATE_TIMEOUT_MS);
  }

  function armTimeout(ms) {
    clearTimeout(idleTimer);
    clearInterval(tickTimer);
    deadline = Date.now() + ms;
    idleTimer = setTimeout(() => { if (!S.sending) toIdle(); }, ms);
    const bar = $("countdown-bar");
    tickTimer = setInterval(() => {
      const left = Math.max(0, deadline - Date.now());
      bar.style.width = (100 * left / ms) + "%";
    }, 200);
    bar.style.width = "100%";
  }

  function toIdle() {
    clearTimeout(idleTimer);
    clearInterval(tickTimer);
    S.caseInfo = null;
    show("idle");
  }

  function chooseLevel(level) {
    if (S.view !== "rate" || S.sending || !S.caseInfo) return;
    S.level = level;
    const levels = document.querySelectorAll(".level");
    for (let i = 0; i < levels.length; i++) levels[i].classList.toggle("chosen", Number(levels[i].dataset.level) === level);
    if (LOW_LEVELS[level]) {
      renderTags(S.tagsByLevel[level] || FALLBACK_TAGS);
      $("tags").hidden = false;
      $("levels").classList.add("picked");
      armTimeout(RATE_TIMEOUT_MS);
      return;
    }
    submit();
  }

  function submit() {
    if (S.sending || !S.caseInfo || !S.level) return;
    S.sending = true;
    setButtons(false);                       // one tap, one rating: nothing more until the next case
    const body = { case_id: S.caseInfo.id, level: S.level, channel: "device", tags: S.tags.slice(),
                 node: S.caseInfo.node || "finish" };
    posts.push(body);
    HallApi.call("POST", "/ratings", { token, body }).then(() => {
      thanks(S.level <= 2 ? "感谢您的评价，我们将认真核实整改并及时回访" : "欢迎您再次光临");
    }).catch((err) => {
      if (err.status === 409) thanks("本次服务已评价，无需重复评价", "already");
      else thanks("评价未能提交：" + err.message + "，请联系窗口工作人员", "error");
    });
  }

  function thanks(sub, kind) {
    clearInterval(tickTimer);
    clearTimeout(idleTimer);
    $("thanks-text").textContent = kind === "error" ? "抱歉" : "感谢您的评价！";
    $("thanks-sub").textContent = sub;
    document.body.dataset.result = kind || "ok";
    show("thanks");
    idleTimer = setTimeout(toIdle, THANKS_MS);
  }

  function renderTags(tags) {
    const box = $("tag-list");
    box.textContent = "";
    tags.forEach((tag) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tag";
      b.dataset.tag = tag;
      b.textContent = tag;
      b.addEventListener("click", () => {
        if (S.sending) return;
        const i = S.tags.indexOf(tag);
        if (i >= 0) S.tags.splice(i, 1); else S.tags.push(tag);
        b.classList.toggle("on", i < 0);
        armTimeout(RATE_TIMEOUT_MS);
      });
      box.appendChild(b);
    });
  }

  function loadLevels() {
    HallApi.call("GET", "/ratings/levels", { token }).then((cat) => {
      (cat.levels || []).forEach((l) => { S.tagsByLevel[l.level] = l.tags || []; });
    }).catch(() => { setTimeout(loadLevels, 30000); });
  }

  /** After a (re)connect: a case of this window finished moments ago and not yet rated here? */
  function checkPending() {
    HallApi.call("GET", "/ratings/device", { token }).then((r) => {
      const c = r && r.case;
      if (!c || c.rated || S.view !== "idle") return;
      const age = clock.now() - Date.parse(c.finished_at);
      if (age >= 0 && age < RATE_TIMEOUT_MS) {
        if (c.staff) { S.staff = c.staff; renderClerk(); }
        startRating(c, RATE_TIMEOUT_MS - age);
      }
    }).catch(() => { /* no such endpoint or no case: stay idle */ });
  }

  function bind() {
    document.querySelectorAll(".level").forEach((b) => {
      b.addEventListener("click", () => { chooseLevel(Number(b.dataset.level)); });
    });
    $("tags-submit").addEventListener("click", submit);
    $("tags-back").addEventListener("click", () => {
      if (S.sending) return;
      S.level = null;
      S.tags = [];
      $("tags").hidden = true;
      $("levels").classList.remove("picked");
      document.querySelectorAll(".level, .tag").forEach((b) => { b.classList.remove("chosen", "on"); });
    });
  }

  function fatal(message) {
    const box = $("token-error");
    box.textContent = message;
    box.hidden = false;
  }

  function start() {
    if (!token) { fatal("缺少设备令牌：请用 /rater#token=设备令牌 打开本页"); return; }
    bind();
    loadLevels();
    show("idle");
    renderClock();
    setInterval(renderClock, 1000);
    HallApi.call("GET", "/me", { token }).then((me) => {
      if (me.kind !== "device" || !me.window_ids || !me.window_ids.length) {
        fatal("此令牌没有绑定窗口：评价器需要 kind = \"rater\" 且配置了 window 的设备令牌");
        return;
      }
      S.windowId = me.window_ids[0];
      stream = new HallStream({ token, onSnapshot, onEvent,
        onStatus: (ok) => {
          S.connected = ok;
          $("conn-badge").hidden = ok;
          if (!ok) S.checked = false;     // the next snapshot checks for a case finished meanwhile
        } });
      const beats = HallDevice.startHeartbeat(token, () => ({ screen: "ok", socket: stream.socketStatus() }));
      window.hallRater = { state: S, posts, stream, beats };
      stream.start();
    }).catch((err) => {
      fatal(err.status === 401 ? "设备令牌无效或已停用，请联系管理员" : "无法连接服务器，正在重试…");
      if (err.status !== 401) setTimeout(() => { location.reload(); }, 10000);
    });
  }

  start();
})();
