/* The five-level rating form, shared by the SMS link page and the QR progress page.
   No level is preselected or highlighted; tags appear for the level the citizen picked. */
(() => {
  "use strict";

  /** The kit's API call, without a token (the link or the query code is the citizen's key). */
  const api = (method, path, body) => HallApi.call(method, path, {body});

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(box, options) {
    // options: {levels, channel, extra (link or query_code), onDone(rating)}
    box.textContent = "";
    box.appendChild(el("h2", {}, "请您对本次服务作出评价"));
    box.appendChild(el("p", {"class": "hint"}, "评价自愿、真实，每个渠道只能评价一次。"));
    const list = el("div", {"class": "levels", role: "group", "aria-label": "评价等级"});
    const tagsTitle = el("p", {"class": "tags-title"});
    const tags = el("div", {"class": "tags"});
    const comment = el("textarea", {maxlength: "500", placeholder: "意见建议（选填，最多500字）", "aria-label": "意见建议"});
    const submit = el("button", {type: "button", "class": "submit", disabled: ""}, "提交评价");
    const status = el("p", {"class": "notice", role: "status"});
    let chosen = null;
    const picked = new Set();

    options.levels.forEach((item) => {
      const button = el("button", {type: "button", "class": "level", "aria-pressed": "false", "data-level": String(item.level)});
      button.appendChild(el("span", {}, item.word));
      button.appendChild(el("span", {"class": "stars", "aria-hidden": "true"}, "★".repeat(item.level)));
      button.addEventListener("click", () => {
        chosen = item;
        picked.clear();
        list.querySelectorAll(".level").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
        tagsTitle.textContent = item.bad ? "请选择不满意的原因（可多选）：" : "您满意的方面（选填）：";
        tags.textContent = "";
        item.tags.forEach((tag) => {
          const chip = el("button", {type: "button", "class": "tag", "aria-pressed": "false"}, tag);
          chip.addEventListener("click", () => {
            if (picked.has(tag)) picked.delete(tag); else picked.add(tag);
            chip.setAttribute("aria-pressed", String(picked.has(tag)));
          });
          tags.appendChild(chip);
        });
        submit.disabled = false;
      });
      list.appendChild(button);
    });

    submit.addEventListener("click", async () => {
      if (!chosen) return;
      submit.disabled = true;
      status.className = "notice";
      status.textContent = "正在提交…";
      try {
        const body = Object.assign({level: chosen.level, channel: options.channel, tags: Array.from(picked),
                                    comment: comment.value.trim()}, options.extra);
        const data = await api("POST", "/ratings", body);
        options.onDone(data.rating);
      } catch (err) {
        status.className = "notice error";
        status.textContent = err.message;
        submit.disabled = err.code === "already_rated" || err.code === "link_used";
      }
    });

    [list, tagsTitle, tags, comment, submit, status].forEach((n) => box.appendChild(n));
    box.hidden = false;
  }

  function thanks(box, rating) {
    box.textContent = "";
    box.appendChild(el("p", {"class": "done"}, "感谢您的评价！"));
    if (rating) box.appendChild(el("p", {"class": "notice"}, "您的评价：" + rating.level_word));
    if (rating && rating.bad) box.appendChild(el("p", {"class": "notice"}, "我们会在规定时间内核实整改并回访您。"));
    box.hidden = false;
  }

  function fmt(iso) {
    if (!iso) return "";
    return iso.slice(0, 16).replace("T", " ");
  }

  window.HallRating = {api, el, render, thanks, fmt};
})();
