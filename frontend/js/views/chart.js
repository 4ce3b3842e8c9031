// A small SVG chart over a real time axis: one slot per calendar month between the first and last month,
// so gaps show as gaps (no data ≠ zero, and 2027-12 never sits beside 2031-05).
import { formatMoney } from "../format.js";

const NS = "http://www.w3.org/2000/svg";
const W = 720;
const H = 260;
const PAD = { left: 64, right: 48, top: 16, bottom: 40 };

function el(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text != null) node.textContent = text;
  return node;
}

function monthIndex(month) {
  const [year, m] = month.split("-").map(Number);
  return year * 12 + (m - 1);
}

function monthName(index) {
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
}

/** points: [{month: "YYYY-MM", bar: number, line?: number (0..1)}]; bars in money, the line in %. */
export function timeChart(points, { title, barLabel, lineLabel }) {
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  svg.append(el("title", {}, title));
  if (!points.length) return svg;
  const indexes = points.map((p) => monthIndex(p.month));
  const first = Math.min(...indexes);
  const last = Math.max(...indexes);
  const slots = last - first + 1;
  const slot = (W - PAD.left - PAD.right) / slots;
  const maxBar = Math.max(1, ...points.map((p) => p.bar));
  const y = (value) => H - PAD.bottom - (value / maxBar) * (H - PAD.top - PAD.bottom);
  const yLine = (ratio) => H - PAD.bottom - ratio * (H - PAD.top - PAD.bottom);
  svg.append(
    el("line", { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, class: "axis" }),
  );
  for (const tick of [0, 0.5, 1]) {
    svg.append(
      el(
        "text",
        { x: PAD.left - 6, y: y(maxBar * tick) + 4, "text-anchor": "end" },
        formatMoney(Math.round(maxBar * tick)),
      ),
    );
    if (lineLabel) svg.append(el("text", { x: W - PAD.right + 6, y: yLine(tick) + 4 }, `${tick * 100}%`));
  }
  const every = Math.max(1, Math.ceil(slots / 12));
  for (let i = 0; i < slots; i += every) {
    svg.append(
      el(
        "text",
        { x: PAD.left + (i + 0.5) * slot, y: H - PAD.bottom + 16, "text-anchor": "middle" },
        monthName(first + i),
      ),
    );
  }
  for (const p of points) {
    const i = monthIndex(p.month) - first;
    const width = Math.min(slot * 0.7, 48);
    const bar = el("rect", {
      x: PAD.left + (i + 0.5) * slot - width / 2,
      width,
      y: y(p.bar),
      height: H - PAD.bottom - y(p.bar),
      class: "bar",
    });
    bar.append(el("title", {}, `${p.month}: ${barLabel} ${formatMoney(p.bar)}`));
    svg.append(bar);
  }
  if (lineLabel) {
    // The line joins consecutive months only: a month without data breaks it instead of dropping to zero.
    const sorted = points
      .filter((p) => p.line != null)
      .sort((a, b) => monthIndex(a.month) - monthIndex(b.month));
    let path = "";
    let previous = null;
    for (const p of sorted) {
      const i = monthIndex(p.month) - first;
      const x = PAD.left + (i + 0.5) * slot;
      path += `${previous != null && i === previous + 1 ? "L" : "M"}${x.toFixed(1)},${yLine(p.line).toFixed(1)} `;
      previous = i;
      const dot = el("circle", { cx: x, cy: yLine(p.line), r: 3, class: "dot" });
      dot.append(el("title", {}, `${p.month}: ${lineLabel} ${(p.line * 100).toFixed(1)}%`));
      svg.append(dot);
    }
    svg.append(el("path", { d: path.trim(), class: "line" }));
  }
  return svg;
}
