/* Small SVG bar charts drawn here (no chart library: the hall's network is closed and the
   charts are simple). Horizontal bars with their labels and values, so Chinese names fit. */
(() => {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";

  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    Object.entries(attrs).forEach(([k, v]) => n.setAttribute(k, v));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  /* items: [{label, value, color?, note?}]; options: {max, format, width, labelWidth, title} */
  function bars(container, items, options) {
    const o = Object.assign({width: 460, labelWidth: 120, row: 24, format: (v) => String(v)}, options || {});
    const max = o.max || Math.max(1, ...items.map((i) => i.value || 0));
    const height = Math.max(1, items.length) * o.row + 8;
    const svg = node("svg", {viewBox: `0 0 ${o.width} ${height}`, role: "img", "aria-label": o.title || "图表"});
    const barSpace = o.width - o.labelWidth - 70;
    items.forEach((item, i) => {
      const y = 4 + i * o.row;
      const label = item.label.length > 9 ? item.label.slice(0, 9) + "…" : item.label;
      svg.append(node("text", {x: o.labelWidth - 6, y: y + o.row / 2 + 4, "text-anchor": "end"}, label));
      const w = item.value === null || item.value === undefined ? 0 : Math.max(1, barSpace * item.value / max);
      svg.append(node("rect", {x: o.labelWidth, y: y + 4, width: w, height: o.row - 9, rx: 2,
                               fill: item.color || "#0b4f9c"}));
      svg.append(node("text", {x: o.labelWidth + w + 6, y: y + o.row / 2 + 4},
                      item.value === null || item.value === undefined ? "—" : o.format(item.value)));
      const title = node("title", {}, item.label + "：" + (item.value === null ? "—" : o.format(item.value)) + (item.note ? "（" + item.note + "）" : ""));
      svg.lastChild.append(title);
    });
    container.textContent = "";
    if (!items.length) {
      container.append(Object.assign(document.createElement("p"), {className: "muted", textContent: "无数据"}));
      return;
    }
    container.append(svg);
  }

  window.Charts = {bars};
})();
