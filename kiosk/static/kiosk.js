/* 自助取号机 page: department → matter → (ID, mobile) → priority → ticket; appointment check-in.
   It talks only to its own kiosk backend (same origin, /kiosk/api/…), which talks to the server.
   One intent, one request id: a double tap or a retry after a lost answer gives the same ticket. */
(() => {
  "use strict";

  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  const BASE = $("#app").dataset.base;
  // Back to the start after this long without a touch, scroll or key (the next person must not find
  // someone else's half-done ticket), warned WARN_SECONDS before. Reading a materials list takes
  // longer; 长辈模式 gets twice the time everywhere.
  const IDLE_SECONDS = 30;
  const READING_SECONDS = 90;
  const WARN_SECONDS = 10;
  const STATUS_EVERY = 3000;
  const BAD_PRINTER = ["paper_out", "cover_open", "offline"];
  const hallClock = new HallClock();   // the hall's time (UTC+8), whatever this machine's zone

  const TEXT = {
    zh: {
      title: "自助取号", elder: "长辈模式", contrast: "高对比", voice: "语音播报", lang: "English",
      pick_department: "请选择办理部门", search: "搜索事项", search_hint: "搜索事项：输入名称、拼音或首字母，如 shebao、sbk",
      clear: "清除", checkin: "预约签到取号", checkin_hint: "已网上预约的请点此签到，优先叫号", back: "返回",
      pick_matter: "请选择要办理的事项", kind: "办件类型", limit: "承诺时限", fees: "收费", windows: "办理窗口",
      wait: "当前等候", materials: "请备齐以下材料（一次性告知）", take: "取号",
      identity_title: "身份信息（可不填）", identity_hint: "刷身份证或输入号码；留下手机号码，办结后可收到短信评价服务",
      id_number: "身份证号码", phone: "手机号码", skip: "跳过", next: "下一步",
      priority_title: "是否属于优先办理对象？", priority_hint: "优先对象请在窗口出示有效证件",
      p_none: "否，普通取号", p_elderly: "老年人（60周岁以上）", p_disabled: "残疾人",
      p_military: "军人（现役、退役军人及家属）", p_pregnant: "孕妇",
      your_number: "您的号码", go_to: "请到", reprint: "重新打印", done: "完成",
      slip_caption: "告知单（与打印内容相同）", slip_unprinted: "告知单未打印（仅供查看）", checkin_how: "输入8位预约码，或刷身份证 / 输入身份证号码",
      checkin_field: "预约码或身份证号码", checkin_submit: "签到取号", help: "如需帮助，请到服务台咨询",
      sorry: "抱歉", ok: "知道了", paused: "暂停服务", paused_text: "系统正在恢复，请稍候，或到服务台咨询",
      working: "正在取号，请稍候…", countdown: "{n} 秒后返回首页", no_wait: "无需等候",
      ahead: "前面 {n} 人", about: "约 {m} 分钟", no_window: "暂无窗口办理", matters_n: "{n} 个事项",
      unstaffed: "暂无窗口开放", unstaffed_note: "该事项暂无窗口开放，请咨询导办台。仍可取号，窗口开放后按号叫号",
      unstaffed_where: "暂无窗口开放，请咨询导办台",
      waiting_n: "等候 {n} 人", ticket_ahead: "前面还有 {n} 人等候", ticket_ahead_0: "前面没有人等候，请留意叫号",
      est: "，预计等候约 {m} 分钟",
      printing: "正在打印告知单…", printed: "请取走您的告知单",
      paper_out: "打印机缺纸，请凭号码到服务台补打告知单", cover_open: "打印机纸仓盖未关好，请凭号码到服务台补打告知单",
      offline: "打印机暂时无法打印，请凭号码到服务台补打告知单", print_failed: "告知单未能打印，请凭号码到服务台补打",
      print_unconfirmed: "告知单已送到打印机，请查看出纸口是否已打出", reprint_missing: "没有打出，补打",
      print_waiting: "打印机暂时不能打印，正在等待，请稍候…",
      banner_paper: "打印机缺纸：仍可取号，告知单请到服务台补打", banner_printer: "打印机暂时无法打印：仍可取号，告知单请到服务台补打",
      id_bad: "身份证号码不正确，请核对（18位，最后一位可能是X）", phone_bad: "手机号码应为11位，以1开头",
      checkin_bad: "请输入8位预约码或18位身份证号码", appointment_done: "预约签到成功 · {slot}",
      kind_即办件: "即办件", kind_承诺件: "承诺件", kind_联办件: "联办件", kind_上报件: "上报件",
      limit_now: "当场办结", limit_days: "{n}个工作日", no_results: "没有找到相关事项，请换个关键词或到服务台咨询",
      speak_home: "您好，请选择办理部门，或点击预约签到", speak_ticket: "您的号码是{number}，{ahead}，{note}",
      voice_on: "语音播报已开启", closed_hall_closed: "暂停取号", closed_matter_closed_today: "今日已停止取号",
      closed_quota_full: "今日号已取完", free: "不收费", notice: "办事须知",
      idle_title: "您还在办理吗？", idle_text: "{n} 秒后返回首页", idle_stay: "继续办理",
    },
    en: {
      title: "Self-service tickets", elder: "Large text", contrast: "High contrast", voice: "Voice", lang: "中文",
      pick_department: "Choose a department", search: "Search", search_hint: "Search: name, pinyin or initials, e.g. shebao, sbk",
      clear: "Clear", checkin: "Appointment check-in", checkin_hint: "Booked online? Check in here for priority",
      back: "Back", pick_matter: "Choose the matter", kind: "Type", limit: "Time limit", fees: "Fees",
      windows: "Windows", wait: "Waiting now", materials: "Bring these documents", take: "Take a ticket",
      identity_title: "Your details (optional)", identity_hint: "Swipe or type your ID card number; a mobile number gets you the rating SMS",
      id_number: "ID card number", phone: "Mobile number", skip: "Skip", next: "Next",
      priority_title: "Priority service?", priority_hint: "Show a valid certificate at the window",
      p_none: "No, normal ticket", p_elderly: "Senior (60+)", p_disabled: "Person with disability",
      p_military: "Military / veteran and family", p_pregnant: "Pregnant",
      your_number: "Your number", go_to: "Go to", reprint: "Print again", done: "Done",
      slip_caption: "Your slip (as printed)", slip_unprinted: "Slip not printed (preview only)", checkin_how: "Enter the 8-digit code, or swipe / type your ID card number",
      checkin_field: "Code or ID number", checkin_submit: "Check in", help: "Need help? Ask at the service desk",
      sorry: "Sorry", ok: "OK", paused: "Service paused", paused_text: "The system is recovering. Please wait or ask at the service desk",
      working: "Taking your ticket…", countdown: "Back to start in {n} s", no_wait: "No wait",
      ahead: "{n} ahead", about: "about {m} min", no_window: "No window open", matters_n: "{n} matters",
      unstaffed: "No window open now", unstaffed_note: "No window serves this matter right now: please ask at the service desk. You may still take a number; it is called when a window opens",
      unstaffed_where: "No window open now: please ask at the service desk",
      waiting_n: "{n} waiting", ticket_ahead: "{n} people ahead of you", ticket_ahead_0: "Nobody ahead, watch the screen",
      est: ", about {m} min",
      printing: "Printing your slip…", printed: "Please take your slip",
      paper_out: "Printer out of paper: get your slip at the service desk", cover_open: "Printer cover open: get your slip at the service desk",
      offline: "Printer not available: get your slip at the service desk", print_failed: "Slip not printed: get it at the service desk",
      print_unconfirmed: "Your slip was sent to the printer: please check the tray", reprint_missing: "Not there? Print it",
      print_waiting: "The printer cannot print yet, waiting…",
      banner_paper: "Printer out of paper: tickets still work, slips at the service desk", banner_printer: "Printer not available: tickets still work, slips at the service desk",
      id_bad: "ID number not valid (18 characters, last may be X)", phone_bad: "Mobile number: 11 digits starting with 1",
      checkin_bad: "Enter the 8-digit code or an 18-character ID number", appointment_done: "Checked in · {slot}",
      kind_即办件: "on the spot", kind_承诺件: "promised", kind_联办件: "joint", kind_上报件: "referred up",
      limit_now: "same visit", limit_days: "{n} working days", no_results: "Nothing found. Try other words or ask at the desk",
      speak_home: "Welcome. Choose a department or check in an appointment", speak_ticket: "Your number is {number}. {ahead}. {note}",
      voice_on: "Voice prompts on", closed_hall_closed: "Closed now", closed_matter_closed_today: "Closed for today",
      closed_quota_full: "Sold out today", free: "Free", notice: "Notice",
      // English for n = 1 (t() picks KEY_one): "1 matter", not "1 matters".
      matters_n_one: "1 matter", ticket_ahead_one: "1 person ahead of you", limit_days_one: "1 working day",
      idle_title: "Still there?", idle_text: "Back to the start in {n} s", idle_text_one: "Back to the start in 1 s",
      idle_stay: "Continue",
    },
  };
  const EN_CODES = {
    hall_closed: "The hall is not issuing tickets now. Please come back during opening hours.",
    matter_closed_today: "No more tickets for this matter today. Please come back on the next working day.",
    quota_full: "All of today's tickets for this matter are taken. Please come back on the next working day.",
    id_limit_reached: "This ID number has reached today's ticket limit. Please ask at the service desk.",
    invalid_id_number: "The ID card number is not valid.", invalid_phone: "The mobile number is not valid.",
    unknown_appointment: "Appointment code not found.", no_appointment_today: "No appointment today for this ID number.",
    checkin_too_early: "Too early to check in: check-in opens 30 minutes before your slot.",
    checkin_too_late: "Check-in closed 15 minutes after your slot began; the booking has lapsed.",
    appointment_not_today: "Your appointment is on another day.", appointment_cancelled: "This appointment was cancelled.",
    appointment_lapsed: "This appointment has lapsed.", already_checked_in: "Already checked in.",
    server_down: "Service paused.",
  };

  const state = {
    lang: "zh", catalogue: null, availability: null, department: null, matter: null, requestId: null,
    checkinRequestId: null, busy: false, ticket: null, serverUp: true, screen: "home", idle: IDLE_SECONDS,
    activeInput: null, printPoll: null, printer: null, voice: false,
  };

  // --- words ---------------------------------------------------------------------------------
  function t(key, vars) {
    const one = vars && vars.n === 1 && TEXT[state.lang][key + "_one"];
    let s = one || (TEXT[state.lang] && TEXT[state.lang][key]) || TEXT.zh[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  function applyLang() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    $$("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $$("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    $("#btn-lang").textContent = t("lang");
    $("#btn-lang").lang = state.lang === "zh" ? "en" : "zh-CN";
    if (state.catalogue) { renderDepartments(); if (state.department) renderMatters(); if (state.matter) renderDetail(); }
  }
  // A matter's or department's words in the page's language: English where the config has it.
  function en(item, field) {
    return (state.lang === "en" && item && item[field + "_en"]) || (item && item[field]) || "";
  }
  function materialsOf(m) {
    const english = m.materials_en || [];
    return state.lang === "en" && english.length === (m.materials || []).length ? english : (m.materials || []);
  }
  function speak(text) {
    if (!state.voice || !("speechSynthesis" in window)) return;
    try {
      window.speechSynthesis.cancel();
      const u = new SpeechSynthesisUtterance(text);
      u.lang = state.lang === "zh" ? "zh-CN" : "en-US";
      window.speechSynthesis.speak(u);
    } catch (e) { /* no voice on this machine */ }
  }

  // --- talking to the kiosk backend ------------------------------------------------------------
  /** The kit's API call to the kiosk's own backend; `down` marks "paused, not refused". */
  async function api(method, path, body) {
    try {
      return { data: await HallApi.call(method, path, { body, root: BASE }) };
    } catch (err) {
      if (err.code === "network") throw { down: true, code: "server_down", message: "暂停服务：取号机程序无应答" };
      const bare = err.code.startsWith("http_");    // no error body: not a refusal the backend put in words
      throw { status: err.status, down: err.status === 503, code: bare ? "error" : err.code,
              message: bare ? "系统繁忙，请稍后再试" : err.message };
    }
  }
  function newRequestId() {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "K-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- screens and the idle countdown ----------------------------------------------------------
  function show(name) {
    state.screen = name;
    $$(".screen").forEach((el) => { el.hidden = el.id !== "screen-" + name; });
    $("main").scrollTop = 0;
    state.idle = idleLimit();
    renderCountdown();
  }
  function idleLimit() {
    const base = state.screen === "detail" ? READING_SECONDS : IDLE_SECONDS;
    return document.documentElement.classList.contains("elder") ? base * 2 : base;
  }
  function renderCountdown() {
    const el = $("#countdown");
    el.hidden = state.screen === "home";
    el.textContent = t("countdown", { n: state.idle });
    const warn = state.screen !== "home" && state.idle <= WARN_SECONDS;
    $("#idle-warning").hidden = !warn;
    if (warn) $("#idle-text").textContent = t("idle_text", { n: state.idle });
  }
  function touched() { state.idle = idleLimit(); renderCountdown(); }
  function tick() {
    if (state.screen !== "home" && !state.busy && $("#paused").hidden) {
      state.idle -= 1;
      if (state.idle <= 0) { resetSession(); goHome(); return; }
      renderCountdown();
    }
  }

  // --- the browser's back (a swipe, Alt+←, the back key) stays in the kiosk: it means 返回 -------
  function holdHistory() {
    if (!history.state || history.state.kiosk !== "app") history.pushState({ kiosk: "app" }, "");
  }
  function onBrowserBack() {
    holdHistory();
    touched();
    if (state.busy) return;
    if (!$("#message").hidden) { hideMessage(); return; }
    const back = $("#screen-" + state.screen + " [data-back]");
    if (back) back.click();
  }
  function resetSession() {
    state.lang = "zh"; state.voice = false;
    document.documentElement.classList.remove("elder");
    document.body.classList.remove("contrast");
    ["#btn-elder", "#btn-contrast", "#btn-voice"].forEach((s) => $(s).setAttribute("aria-pressed", "false"));
    applyLang();
  }
  function goHome() {
    stopPrintPoll();
    state.department = null; state.matter = null; state.requestId = null; state.checkinRequestId = null;
    state.ticket = null;
    $("#search").value = ""; $("#letters").hidden = true;
    $("#id-number").value = ""; $("#phone").value = ""; $("#checkin-input").value = "";
    $$(".field-error").forEach((el) => { el.textContent = ""; });
    hideMessage();
    renderSearch();
    show("home");
    refreshAvailability();
    speak(t("speak_home"));
  }

  // --- catalogue, availability, banner ---------------------------------------------------------
  async function loadCatalogue() {
    try {
      const r = await api("GET", "api/catalogue");
      state.catalogue = r.data;
      $("#hall-name").textContent = r.data.hall.name;
      $("#home-notice-text").textContent = r.data.hall.notice || "";
      $("#home-notice").hidden = !r.data.hall.notice;
      document.title = r.data.hall.name + " · 自助取号";
      renderDepartments();
      setPaused(false);
      refreshAvailability();
    } catch (e) {
      if (e.code === "kiosk_not_paired") { showPairing(true); return; }   // loaded again once paired
      setPaused(true, e.message);
      setTimeout(loadCatalogue, 2000);
    }
  }
  async function refreshAvailability() {
    try {
      const r = await api("GET", "api/availability");
      state.availability = r.data;
      renderBanner();
      if (state.screen === "home") renderDepartments();
      if (state.screen === "matters") renderMatters();
      if (state.screen === "detail") renderDetail();
      renderSearch();
    } catch (e) { if (e.down) setPaused(true, e.message); }
  }
  function avail(matter) {
    const a = state.availability && state.availability.matters[String(matter.id)];
    return a || { open: true, waiting: 0, estimate_minutes: 0, open_windows: 1 };
  }
  function renderBanner() {
    const el = $("#banner");
    const msgs = [];
    let bad = false;
    if (state.availability && !state.availability.hall_open) { msgs.push(state.availability.hall_message); bad = true; }
    const p = state.printer;
    if (p && BAD_PRINTER.includes(p.state)) msgs.push(t(p.state === "paper_out" ? "banner_paper" : "banner_printer"));
    el.hidden = msgs.length === 0;
    el.textContent = msgs.join("　");
    el.classList.toggle("bad", bad);
  }
  // --- pairing: this browser acts for its kiosk device only once paired (a one-time code) ------
  function showPairing(on, message) {
    $("#pairing").hidden = !on;
    if (message !== undefined || !on) $("#pairing-error").textContent = message || "";
    if (on) { setPaused(false); state.serverUp = false; state.unpaired = true; }
  }
  async function pair(code) {
    try {
      await HallApi.call("POST", "/devices/pair", { body: { code } });
    } catch (err) {
      showPairing(true, err.code === "network" ? "无法连接服务器，请稍后再试" : err.code.startsWith("http_") ? "配对失败" : err.message);
      return false;
    }
    state.unpaired = false;
    showPairing(false);
    loadCatalogue();
    return true;
  }
  function wirePairing() {
    $("#pairing-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const code = $("#pairing-code").value.trim();
      $("#pairing-code").value = "";
      if (code) pair(code);
    });
    // A pairing link (`/kiosk/?pair=CODE`, printed by `hall demo`): used once, then gone from the URL.
    const code = new URLSearchParams(location.search).get("pair");
    if (code) {
      history.replaceState(history.state, "", location.pathname);
      return pair(code);
    }
    return null;
  }

  async function pollStatus() {
    try {
      const r = await api("GET", "api/status");
      if (r.data.at) hallClock.sync(r.data.at * 1000);   // the kiosk backend's clock (epoch seconds)
      state.printer = r.data.printer;
      if (r.data.server) {
        if (!state.serverUp) { state.serverUp = true; setPaused(false); if (!state.catalogue) loadCatalogue(); else refreshAvailability(); }
      } else {
        state.serverUp = false; setPaused(true, r.data.message);
      }
      renderBanner();
    } catch (e) {
      if (e.code === "kiosk_not_paired") showPairing(true);
      else { state.serverUp = false; setPaused(true, e.message); }
    }
    setTimeout(pollStatus, state.serverUp ? STATUS_EVERY : 1500);
  }
  function setPaused(on, detail) {
    $("#paused").hidden = !on;
    $("#paused-detail").textContent = on ? (detail || "") : "";
    if (on) state.serverUp = false;
  }

  // --- home: departments and search ------------------------------------------------------------
  function renderDepartments() {
    const box = $("#departments");
    box.textContent = "";
    if (!state.catalogue) return;
    for (const d of state.catalogue.departments) {
      const matters = state.catalogue.matters.filter((m) => m.department_id === d.id);
      if (!matters.length) continue;
      const waiting = matters.reduce((n, m) => n + (avail(m).waiting || 0), 0);
      const b = document.createElement("button");
      b.type = "button"; b.className = "tile"; b.dataset.departmentId = d.id;
      b.innerHTML = "<strong></strong><span></span>";
      b.querySelector("strong").textContent = en(d, "name");
      b.querySelector("span").textContent = t("matters_n", { n: matters.length }) + " · " + t("waiting_n", { n: waiting });
      b.addEventListener("click", () => openDepartment(d));
      box.appendChild(b);
    }
  }
  function openDepartment(d) {
    state.department = d;
    $("#department-name").textContent = en(d, "name");
    renderMatters();
    show("matters");
    speak(en(d, "name") + "，" + t("pick_matter"));
    refreshAvailability();
  }
  function waitWords(m) {
    const a = avail(m);
    if (!a.open) return t("closed_" + (a.code || "hall_closed"));
    if (a.open_windows === 0) return (a.waiting ? t("ahead", { n: a.waiting }) + " · " : "") + t("unstaffed");
    if (!a.waiting) return t("no_wait");
    if (a.estimate_minutes === null || a.estimate_minutes === undefined) return t("ahead", { n: a.waiting }) + " · " + t("no_window");
    return t("ahead", { n: a.waiting }) + " · " + t("about", { m: a.estimate_minutes });
  }
  function matterCard(m, withDept) {
    const a = avail(m);
    const b = document.createElement("button");
    b.type = "button"; b.className = "card" + (a.open ? "" : " closed"); b.dataset.matterId = m.id;
    b.innerHTML = '<strong></strong><span class="desc"></span><span class="meta"><span class="badge"></span><span class="wait"></span></span>';
    b.querySelector("strong").textContent = en(m, "name");
    b.querySelector(".desc").textContent = en(m, "description");
    b.querySelector(".badge").textContent = t("kind_" + m.kind);
    b.querySelector(".wait").textContent = waitWords(m);
    if (withDept) {
      const dept = document.createElement("span");
      dept.className = "dept"; dept.textContent = en(department(m), "name") || m.department_name;
      b.querySelector(".meta").appendChild(dept);
    }
    b.addEventListener("click", () => openMatter(m));
    return b;
  }
  function renderMatters() {
    const box = $("#matters");
    box.textContent = "";
    if (!state.department) return;
    state.catalogue.matters.filter((m) => m.department_id === state.department.id)
      .forEach((m) => box.appendChild(matterCard(m, false)));
  }

  function subsequence(initials, q, from) {
    let i = from || 0;
    for (const c of q) {
      while (i < initials.length && !initials[i].includes(c)) i++;
      if (i >= initials.length) return false;
      i++;
    }
    return true;
  }
  function runAt(initials, q, start) {
    if (start + q.length > initials.length) return false;
    for (let k = 0; k < q.length; k++) if (!initials[start + k].includes(q[k])) return false;
    return true;
  }
  // Whole pinyin: the typed letters are the syllables of the characters from `pos` on, the last
  // one perhaps begun only ("gongjij"). With `gaps`, characters between them may be left out, as
  // people shorten 社会保险 to 社保: 「shebao」.
  function syllablesAt(syl, q, pos, i, gaps) {
    if (i >= q.length) return true;
    for (let p = pos; p < syl.length; p++) {
      for (const s of syl[p]) {
        if (q.startsWith(s, i) && syllablesAt(syl, q, p + 1, i + s.length, gaps)) return true;
        if (i > 0 && s.length > q.length - i && s.startsWith(q.slice(i))) return true;
      }
      if (!gaps) return false;
    }
    return false;
  }
  function pinyinScore(syl, q) {
    if (!syl || !syl.length) return -1;
    if (syllablesAt(syl, q, 0, 0, false) && q.length > 1) return 0;
    for (let p = 1; p < syl.length; p++) if (syllablesAt(syl, q, p, 0, false) && q.length > 1) return 1;
    for (let p = 0; p < syl.length; p++) if (syllablesAt(syl, q, p, 0, true) && q.length > 2) return 2;
    return -1;
  }
  // Characters of q in order within text: 「医保」 in 医疗保障局, 「社保」 in 社会保障卡.
  function inOrder(text, q) {
    let i = 0;
    for (const ch of text || "") if (ch === q[i]) i++;
    return i === q.length;
  }
  function department(m) {
    return (state.catalogue.departments || []).find((d) => d.id === m.department_id) || {};
  }
  function score(m, raw) {
    const q = raw.trim().toLowerCase();
    if (!q) return -1;
    if (/[\u3400-\u9fff]/.test(q)) {
      if (m.name.includes(q)) return 0;
      if ((m.department_name || "").includes(q)) return 2;
      if (q.length >= 2 && inOrder(m.name, q)) return 2;
      if ((m.description || "").includes(q)) return 3;
      if (q.length >= 2 && inOrder(m.department_name, q)) return 3;
      return -1;
    }
    if (m.name_en && q.length >= 3 && m.name_en.toLowerCase().includes(q)) return 0;
    const letters = q.replace(/[^a-z0-9]/g, "");
    if (!letters) return -1;
    const ini = m.initials || [];
    if ((m.keys || []).some((k) => k.startsWith(letters)) || runAt(ini, letters, 0)) return 0;
    const best = pinyinScore(m.syllables, letters);
    if (best === 0) return 0;
    for (let s = 1; s < ini.length; s++) if (runAt(ini, letters, s)) return 1;
    if ((m.keys || []).some((k) => k.includes(letters))) return 1;
    if (best === 1) return 1;
    if (letters.length >= 2 && ini.length && ini[0].includes(letters[0]) && subsequence(ini, letters.slice(1), 1)) return 2;
    const dept = pinyinScore(department(m).syllables, letters);   // 「yibao」: every 医疗保障局 matter
    // The department's matters come before characters picked out of a name, where a rare reading
    // may match by chance (失 yì 业 保 for 「yibao」).
    if (dept >= 0) return best === 2 ? 1.5 : 1.75;
    return best;
  }
  function renderSearch() {
    const q = $("#search").value;
    const results = $("#search-results");
    const searching = q.trim().length > 0;
    $("#search-clear").hidden = !searching;
    $("#departments").hidden = searching;
    $("#screen-home").classList.toggle("searching", searching);
    results.hidden = !searching;
    results.textContent = "";
    if (!searching || !state.catalogue) return;
    const found = state.catalogue.matters.map((m, i) => ({ m, i, s: score(m, q) }))
      .filter((x) => x.s >= 0).sort((a, b) => a.s - b.s || a.i - b.i).slice(0, 12);
    if (!found.length) {
      const p = document.createElement("p");
      p.className = "hint"; p.textContent = t("no_results");
      results.appendChild(p);
    }
    found.forEach((x) => results.appendChild(matterCard(x.m, true)));
  }
  function buildLetters() {
    const box = $("#letters");
    for (const row of ["QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM⌫"]) {
      const line = document.createElement("div");
      line.className = "row";
      box.appendChild(line);
      for (const k of row) addLetter(line, k);
    }
  }
  function addLetter(box, k) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = k; b.dataset.key = k;
    if (k === "⌫") b.className = "wide-key";
    b.addEventListener("click", () => {
      const input = $("#search");
      input.value = k === "⌫" ? input.value.slice(0, -1) : input.value + k.toLowerCase();
      renderSearch();
    });
    box.appendChild(b);
  }

  // --- a matter and its details ----------------------------------------------------------------
  function windowWords(ids) {
    const byId = new Map(state.catalogue.windows.map((w) => [w.id, w]));
    const nums = (ids || []).map((i) => byId.get(i)).filter(Boolean).sort((a, b) => a.number - b.number)
      .map((w) => w.number);
    if (!nums.length) return t("no_window");
    if (state.lang === "en") return (nums.length > 1 ? "windows " : "window ") + nums.join(", ");
    return nums.map((n) => n + "号").join("、") + "窗口";
  }
  function openMatter(m) {
    state.matter = m;
    state.department = state.catalogue.departments.find((d) => d.id === m.department_id) || state.department;
    $("#department-name").textContent = state.department ? en(state.department, "name") : "";
    renderMatters();
    renderDetail();
    show("detail");
    speak(en(m, "name"));
  }
  function renderDetail() {
    const m = state.matter;
    if (!m) return;
    const a = avail(m);
    $("#detail-name").textContent = en(m, "name");
    $("#detail-description").textContent = en(m, "description");
    $("#detail-kind").textContent = state.lang === "en" ? t("kind_" + m.kind) : m.kind;
    $("#detail-limit").textContent = m.kind === "即办件" ? t("limit_now") : t("limit_days", { n: m.promised_days });
    $("#detail-fees").textContent = !m.fees || m.fees === "不收费" ? t("free") : m.fees;
    $("#detail-windows").textContent = windowWords(m.window_ids);
    $("#detail-wait").textContent = waitWords(m);
    const list = $("#detail-materials");
    list.textContent = "";
    materialsOf(m).forEach((item) => { const li = document.createElement("li"); li.textContent = item; list.appendChild(li); });
    // No window open for the matter now (nobody signed in): said plainly; a number may still be
    // taken, and the slip names no window (README, 窗口签到).
    const unstaffed = a.open && a.open_windows === 0;
    $("#detail-closed").hidden = a.open && !unstaffed;
    $("#detail-closed").textContent = !a.open ? (a.message || "") : unstaffed ? t("unstaffed_note") : "";
    $("#detail-take").disabled = !a.open;
  }

  // --- ID and mobile ---------------------------------------------------------------------------
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  function idValid(v) {
    if (!/^\d{17}[\dX]$/.test(v)) return false;
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(v[i]) * WEIGHTS[i];
    return "10X98765432"[sum % 11] === v[17];
  }
  function phoneValid(v) { return /^1[3-9]\d{9}$/.test(v); }
  function cleanInput(el) {
    const allowX = el.id !== "phone";
    const v = el.value.toUpperCase().replace(allowX ? /[^0-9X]/g : /[^0-9]/g, "");
    el.value = v.slice(0, Number(el.maxLength) || 18);
  }
  function setActive(el) {
    state.activeInput = el;
    $$(".field input").forEach((i) => i.classList.toggle("active", i === el));
    el.focus({ preventScroll: true });
  }
  function buildKeypads() {
    $$(".keypad").forEach((pad) => {
      const order = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "⌫"];
      for (const k of order) {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = k; b.dataset.key = k;
        b.addEventListener("click", () => {
          const input = state.activeInput || pad.closest(".screen").querySelector("input");
          if (k === "⌫") input.value = input.value.slice(0, -1);
          else input.value += k;
          cleanInput(input);
          input.dispatchEvent(new Event("input"));
        });
        pad.appendChild(b);
      }
    });
  }
  function identityNext(skip) {
    const idEl = $("#id-number"), phoneEl = $("#phone");
    if (skip) { idEl.value = ""; phoneEl.value = ""; }
    let ok = true;
    $("#id-error").textContent = ""; $("#phone-error").textContent = "";
    if (idEl.value && !idValid(idEl.value)) { $("#id-error").textContent = t("id_bad"); ok = false; setActive(idEl); }
    if (phoneEl.value && !phoneValid(phoneEl.value)) { $("#phone-error").textContent = t("phone_bad"); if (ok) setActive(phoneEl); ok = false; }
    if (!ok) { speak($("#id-error").textContent || $("#phone-error").textContent); return; }
    show("priority");
    speak(t("priority_title"));
  }

  // --- taking the ticket -----------------------------------------------------------------------
  function setBusy(on) {
    state.busy = on;
    $$("#screen-priority .choice, #checkin-submit").forEach((b) => { b.disabled = on; });
    clearTimeout(state.busyTimer);
    if (on) state.busyTimer = setTimeout(() => { if (state.busy) $("#busy").hidden = false; }, 250);
    else $("#busy").hidden = true;
  }
  async function take(priority) {
    if (state.busy || !state.matter || state.screen !== "priority") return;
    if (!state.requestId) state.requestId = newRequestId();
    setBusy(true);
    try {
      const r = await api("POST", "api/tickets", {
        matter_id: state.matter.id, priority: priority || null,
        id_number: $("#id-number").value || null, phone: $("#phone").value || null,
        request_id: state.requestId,
      });
      showTicket(r.data);
    } catch (e) {
      failed(e);
      if (e.code === "invalid_id_number" || e.code === "invalid_phone") show("identity");
    } finally {
      setBusy(false);
    }
  }
  async function checkIn() {
    if (state.busy || state.screen !== "checkin") return;
    const raw = $("#checkin-input").value;
    $("#checkin-error").textContent = "";
    let body;
    if (/^\d{8}$/.test(raw)) body = { code: raw };
    else if (idValid(raw)) body = { id_number: raw };
    else { $("#checkin-error").textContent = t("checkin_bad"); speak(t("checkin_bad")); return; }
    if (!state.checkinRequestId) state.checkinRequestId = newRequestId();
    body.request_id = state.checkinRequestId;
    setBusy(true);
    try {
      const r = await api("POST", "api/check-in", body);
      state.matter = r.data.matter;
      showTicket(r.data);
    } catch (e) {
      failed(e);
    } finally {
      setBusy(false);
    }
  }
  function failed(e) {
    if (e.down) { setPaused(true, e.message); return; }
    showMessage(e.message, EN_CODES[e.code]);
  }
  function showMessage(text, english) {
    $("#message-text").textContent = text;
    const en = $("#message-en");
    en.hidden = !(state.lang === "en" && english);
    en.textContent = english || "";
    $("#message").hidden = false;
    touched();
    speak(state.lang === "en" && english ? english : text);
  }
  function hideMessage() { $("#message").hidden = true; }

  function slotWords(appointment) {
    if (!appointment) return "";
    const s = new Date(appointment.slot_start), e = new Date(appointment.slot_end);
    return HallClock.parts(s.getTime()).hm + "–" + HallClock.parts(e.getTime()).hm;
  }
  function showTicket(result) {
    const tk = result.ticket;
    state.ticket = tk; state.requestId = null; state.checkinRequestId = null; state.reprinted = false;
    $("#ticket-number").textContent = tk.number;
    $("#ticket-label").textContent = result.appointment
      ? t("appointment_done", { slot: slotWords(result.appointment) }) : t("your_number");
    const named = state.catalogue && state.catalogue.matters.find((x) => x.id === tk.matter_id);
    $("#ticket-matter").textContent = (named ? en(named, "name") : tk.matter_name) + (tk.priority_label ? "（" + tk.priority_label + "）" : "");
    $("#ticket-windows").textContent = tk.window_ids && tk.window_ids.length ? windowWords(tk.window_ids) : t("unstaffed_where");
    const m = result.matter || state.matter;
    const a = m ? avail(m) : null;
    const ahead = tk.waiting_ahead || 0;
    let aheadText = ahead ? t("ticket_ahead", { n: ahead }) : t("ticket_ahead_0");
    if (ahead && a && a.service_minutes && a.open_windows) {
      aheadText += t("est", { m: Math.ceil(ahead * a.service_minutes / a.open_windows) });
    }
    $("#ticket-ahead").textContent = aheadText;
    const img = $("#slip-img");
    img.src = BASE + result.slip_url;
    printNote(result.print);
    show("ticket");
    speak(t("speak_ticket", { number: tk.number.split("").join(" "), ahead: aheadText, note: $("#print-note").textContent }));
    startPrintPoll(tk.id);
  }
  // Three outcomes: printed; unconfirmed (all sent, the printer did not confirm: the citizen
  // looks, and a reprint is offered, on request only); failed (go to the desk, or reprint once
  // here when the printer is fine again). While the job still waits, nothing says "failed":
  // it may yet print.
  function printNote(job) {
    const note = $("#print-note");
    const printer = (job && job.printer) || {};
    const st = job ? job.state : "queued";
    let key = "printing", bad = false;
    if (st === "printed") key = "printed";
    else if (st === "unconfirmed") key = "print_unconfirmed";
    else if (st === "failed") { key = BAD_PRINTER.includes(printer.state) ? printer.state : "print_failed"; bad = true; }
    else if (BAD_PRINTER.includes(printer.state)) { key = "print_waiting"; bad = true; }
    const reprintable = (st === "failed" || st === "unconfirmed") && printer.ok;
    note.textContent = t(key);
    note.dataset.state = key;
    note.classList.toggle("bad", bad);
    note.classList.toggle("check", st === "unconfirmed");
    const button = $("#ticket-reprint");
    button.hidden = !reprintable || state.reprinted;
    button.textContent = t(st === "unconfirmed" ? "reprint_missing" : "reprint");
    $("#slip").classList.toggle("unprinted", bad);
    $("#slip-caption").textContent = t(bad ? "slip_unprinted" : "slip_caption");
    return st === "printed" || st === "unconfirmed" || st === "failed";
  }
  function stopPrintPoll() { clearTimeout(state.printPoll); state.printPoll = null; }
  function startPrintPoll(ticketId) {
    stopPrintPoll();
    let tries = 0;
    const poll = async () => {
      if (!state.ticket || state.ticket.id !== ticketId) return;
      try {
        const r = await api("GET", "api/print/" + ticketId);
        state.printer = r.data.printer; renderBanner();
        const before = $("#print-note").dataset.state;
        const done = printNote(r.data);
        if ($("#print-note").dataset.state !== before) speak($("#print-note").textContent);
        // A slip not printed waits on the screen for the printer to recover: then it may be reprinted.
        if (done && (r.data.state === "printed" || r.data.printer.ok || state.reprinted)) return;
      } catch (e) { /* the next status poll says whether we are down */ }
      if (++tries < 150) state.printPoll = setTimeout(poll, 400);  // a raster slip at 9600 baud takes 20 s
    };
    state.printPoll = setTimeout(poll, 150);
  }
  async function reprint() {
    if (!state.ticket || state.reprinted) return;
    state.reprinted = true;  // once: the server says so too
    $("#ticket-reprint").hidden = true;
    try {
      const r = await api("POST", "api/reprint/" + state.ticket.id);
      printNote(r.data);
      startPrintPoll(state.ticket.id);
    } catch (e) { failed(e); }
  }

  // --- wiring ----------------------------------------------------------------------------------
  function toggle(btn, on) { btn.setAttribute("aria-pressed", on ? "true" : "false"); }
  function wire() {
    document.addEventListener("pointerdown", touched, true);
    document.addEventListener("keydown", touched, true);
    document.addEventListener("scroll", touched, { capture: true, passive: true });  // reading a long list
    document.addEventListener("wheel", touched, { capture: true, passive: true });
    document.addEventListener("touchmove", touched, { capture: true, passive: true });
    document.addEventListener("pointerdown", holdHistory, true);   // a pushState with the tap's activation
    window.addEventListener("popstate", onBrowserBack);
    $("#idle-stay").addEventListener("click", touched);
    $("#btn-elder").addEventListener("click", (e) => {
      const on = document.documentElement.classList.toggle("elder"); toggle(e.currentTarget, on);
    });
    $("#btn-contrast").addEventListener("click", (e) => {
      const on = document.body.classList.toggle("contrast"); toggle(e.currentTarget, on);
    });
    $("#btn-voice").addEventListener("click", (e) => {
      state.voice = !state.voice; toggle(e.currentTarget, state.voice);
      if (state.voice) speak(t("voice_on")); else if ("speechSynthesis" in window) window.speechSynthesis.cancel();
    });
    $("#btn-lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; applyLang(); renderCountdown(); renderSearch(); });
    $$("[data-back]").forEach((b) => b.addEventListener("click", () => {
      const to = b.dataset.back;
      if (to === "home") goHome(); else show(to);
    }));
    const search = $("#search");
    search.addEventListener("focus", () => { $("#letters").hidden = false; });
    search.addEventListener("input", renderSearch);
    $("#search-clear").addEventListener("click", () => { search.value = ""; renderSearch(); });
    $("#go-checkin").addEventListener("click", () => {
      $("#checkin-input").value = ""; $("#checkin-error").textContent = "";
      show("checkin"); setActive($("#checkin-input")); speak(t("checkin_how"));
    });
    $("#detail-take").addEventListener("click", () => {
      state.requestId = newRequestId();
      $("#id-number").value = ""; $("#phone").value = "";
      $("#id-error").textContent = ""; $("#phone-error").textContent = "";
      show("identity"); setActive($("#id-number")); speak(t("identity_hint"));
    });
    $$(".field input").forEach((el) => {
      el.addEventListener("focus", () => setActive(el));
      el.addEventListener("pointerdown", () => setActive(el));
      el.addEventListener("input", () => {
        cleanInput(el);
        if (el.id === "id-number" && el.value.length === 18 && idValid(el.value)) {
          $("#id-error").textContent = ""; setActive($("#phone"));
          state.advancedAt = Date.now();  // the reader's Enter that follows belongs to the ID
        }
      });
      el.addEventListener("keydown", (e) => {
        if (e.key !== "Enter") return;
        e.preventDefault();
        if (el.id === "id-number") { if (el.value && !idValid(el.value)) $("#id-error").textContent = t("id_bad"); else setActive($("#phone")); }
        else if (el.id === "phone") { if (Date.now() - (state.advancedAt || 0) > 600) identityNext(false); }
        else if (el.id === "checkin-input") checkIn();
      });
    });
    $("#identity-skip").addEventListener("click", () => identityNext(true));
    $("#identity-next").addEventListener("click", () => identityNext(false));
    $$("#screen-priority .choice").forEach((b) => b.addEventListener("click", () => take(b.dataset.priority)));
    $("#checkin-submit").addEventListener("click", checkIn);
    $("#ticket-done").addEventListener("click", () => { resetSession(); goHome(); });
    $("#ticket-reprint").addEventListener("click", reprint);
    $("#message-ok").addEventListener("click", hideMessage);
  }
  function clock() {
    const p = hallClock.parts();
    $("#clock").textContent = p.short + " " + p.hm;
  }

  history.replaceState({ kiosk: "start" }, "");
  holdHistory();
  buildLetters();
  buildKeypads();
  wire();
  applyLang();
  clock();
  setInterval(clock, 10000);
  setInterval(tick, 1000);
  setInterval(() => { if (state.screen === "home" && state.serverUp) refreshAvailability(); }, 30000);
  show("home");
  const pairing = wirePairing();
  if (pairing) pairing.then(pollStatus); else { loadCatalogue(); pollStatus(); }
  window.kiosk = { state };  // for the browser tests and the service desk's debugging
})();
