/* 办件台: a hall's cases after their visits. The list asks GET /api/v1/cases; each case says what may
   be done with it now (`actions`, from the server's lifecycle table), and only those buttons show. */
(() => {
  "use strict";
  const {api, el, time} = window.Sup;
  const $ = (id) => document.getElementById(id);
  const ACTIONS = {finish: "办结", deliver: "出件", accept: "材料已补齐，受理", refuse: "不予受理",
                   suspend: "暂停计时", resume_clock: "恢复计时"};
  const LIGHTS = {red: "已超期", yellow: "临近期限", green: "正常"};
  const PAGE = 100;
  let rows = [], total = 0, chosen = null, me = null;

  function query(offset) {
    const p = new URLSearchParams({scope: $("f-scope").value, status: $("f-status").value, limit: PAGE, offset});
    if ($("f-light").value) p.set("light", $("f-light").value);
    if ($("f-q").value.trim()) p.set("q", $("f-q").value.trim());
    return "/cases?" + p.toString();
  }

  async function load(more) {
    const data = await api("GET", query(more ? rows.length : 0));
    rows = more ? rows.concat(data.cases) : data.cases;
    total = data.total;
    render();
  }

  function due(c) {
    if (!c.due_at) return c.status === "correction" ? "补齐后起算" : "—";
    return time(c.due_at) + (c.due_guessed ? "（暂定）" : "");
  }

  function render() {
    const body = $("cases").tBodies[0];
    body.textContent = "";
    rows.forEach((c) => {
      const tr = el("tr", {class: "click" + (chosen === c.id ? " selected" : ""), "data-id": c.id},
        el("td", {class: "light"}, el("span", {class: "dot " + (c.light || ""), title: LIGHTS[c.light] || ""})),
        el("td", {class: "text mono"}, c.number),
        el("td", {class: "text"}, c.matter_name),
        el("td", {class: "text"}, el("span", {class: "state " + c.status}, c.status_text),
           c.suspended ? " 暂停计时" : ""),
        el("td", {}, time(c.accepted_at) || "—"),
        el("td", {class: c.light === "red" ? "overdue" : ""}, due(c)),
        el("td", {class: "text"}, (c.window ? c.window.number + "号窗口 " : "") + (c.staff ? c.staff.name : "")));
      tr.addEventListener("click", () => open(c.id));
      body.append(tr);
    });
    const reds = rows.filter((c) => c.light === "red").length, yellows = rows.filter((c) => c.light === "yellow").length;
    $("summary").textContent = `共 ${total} 件` + (rows.length < total ? `（已显示 ${rows.length} 件）` : "") +
      (reds || yellows ? `，其中红灯 ${reds} 件、黄灯 ${yellows} 件` : "");
    $("more").hidden = rows.length >= total;
  }

  async function open(id) {
    chosen = id;
    render();
    const box = $("detail");
    box.textContent = "加载中…";
    try {
      showDetail(await api("GET", "/cases/" + id));
    } catch (err) {
      box.textContent = "";
      box.append(el("p", {class: "message error", role: "alert"}, err.message));
    }
  }

  function showDetail(data) {
    const c = data.case, box = $("detail");
    box.textContent = "";
    box.append(el("h2", {}, c.number), el("span", {class: "state " + c.status}, c.status_text),
               c.light ? el("span", {}, " ", el("span", {class: "dot " + c.light}), " " + LIGHTS[c.light]) : "");
    const facts = el("dl");
    const fact = (k, v) => { if (v) facts.append(el("dt", {}, k), el("dd", {}, v)); };
    fact("事项", c.matter_name + "（" + c.kind + "）");
    fact("收件", time(c.received_at));
    fact("受理", time(c.accepted_at));
    fact("承诺办结", c.due_at ? due(c) : "");
    fact("经办", c.staff ? c.staff.name + (c.staff.staff_no ? "（" + c.staff.staff_no + "）" : "") : "");
    fact("需补正材料", (c.missing || []).join("、"));
    fact("不予受理理由", c.reason);
    fact("办结", time(c.finished_at) + (c.on_time === false ? "（超期）" : c.on_time ? "（按时）" : ""));
    fact("出件", c.delivered_at ? time(c.delivered_at) + " " + (c.delivery === "mail" ? "邮寄 " + (c.delivery_note || "") : "窗口领取") : "");
    box.append(facts);
    const note = el("p", {class: "message", role: "status"});
    const acts = el("div", {class: "acts"});
    (c.actions || []).forEach((a) => {
      acts.append(el("button", {type: "button", class: "hall-btn" + (a === "finish" ? " primary" : ""), "data-act": a,
                                onclick: () => act(c, a, box, note)}, ACTIONS[a] || a));
    });
    if (c.missing && c.missing.length) {
      acts.append(el("button", {type: "button", class: "hall-btn", onclick: () => notice(c, note)}, "补正告知单"));
    }
    box.append(acts, note);
    box.append(el("h3", {}, "办理经过"));
    const list = el("ol", {class: "history"});
    data.history.forEach((h) => list.append(el("li", {}, el("time", {}, time(h.at)), h.note,
      h.window ? `（${h.window}号窗口）` : "", h.actor ? ` · ${h.actor.replace(/^(staff|device|system):/, "")}` : "")));
    box.append(list);
  }

  function form(box, fields, submit) {
    box.querySelectorAll(".form").forEach((f) => f.remove());
    const f = el("form", {class: "form"}, ...fields, el("button", {type: "submit", class: "hall-btn primary"}, "确认"));
    f.addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
    box.querySelector(".acts").after(f);
    const first = f.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  async function act(c, a, box, note) {
    const run = async (path, body) => {
      note.className = "message";
      note.textContent = "";
      try {
        await api("POST", `/cases/${c.id}/${path}`, body || {});
        await load(false);
        await open(c.id);
      } catch (err) {
        note.className = "message error";
        note.textContent = err.message;
      }
    };
    if (a === "deliver") {
      const how = el("select", {id: "deliver-how"}, el("option", {value: "window"}, "窗口领取"), el("option", {value: "mail"}, "邮寄送达"));
      const no = el("input", {id: "deliver-note", maxlength: "200", placeholder: "邮寄请填快递单号"});
      form(box, [el("label", {}, "出件方式 ", how), no], () => run("deliver", {how: how.value, note: no.value.trim()}));
    } else if (a === "refuse") {
      const why = el("textarea", {id: "refuse-reason", maxlength: "300", rows: "3", placeholder: "不予受理的理由（将告知申请人）"});
      form(box, [why], () => run("refuse", {reason: why.value.trim()}));
    } else if (a === "suspend") {
      const why = el("input", {id: "suspend-reason", maxlength: "300", placeholder: "原因：专家评审、现场勘验、检验检测…"});
      form(box, [why], () => run("suspend", {reason: why.value.trim()}));
    } else if (a === "resume_clock") {
      run("resume-clock");
    } else {
      run(a);
    }
  }

  async function notice(c, note) {
    try {
      const res = await api("GET", `/cases/${c.id}/correction-notice?format=png`, undefined, true);
      const url = URL.createObjectURL(await res.blob());
      const img = el("img", {src: url, alt: "一次性补正告知单", class: "notice-img"});
      $("detail").append(img);
    } catch (err) {
      note.className = "message error";
      note.textContent = err.message;
    }
  }

  async function start() {
    me = await Sup.login($("login-root"), "办件台 · 工作人员登录");
    $("who-name").textContent = me.name;
    $("who").hidden = false;
    $("logout").addEventListener("click", Sup.logout);
    if (me.role !== "clerk") $("f-scope").value = "hall";
    $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
    ["f-scope", "f-status", "f-light"].forEach((id) => $(id).addEventListener("change", () => load(false)));
    $("more").addEventListener("click", () => load(true));
    $("app").hidden = false;
    await load(false);
    setInterval(() => load(false).catch(() => {}), 60000);   // lights change with the clock
  }
  start();
})();
