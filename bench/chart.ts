// docs/benchmarks.svg: server CPU µs per request, a grouped bar chart drawn by hand.
//
// One panel per (connections, message size), each with its own linear axis from zero: the sizes
// differ by orders of magnitude, and what matters inside a panel is how the servers compare.
import type { EchoCell } from "./echo.js";
import { sizeLabel } from "./echo.js";
import { medianSample } from "./report.js";

const COLORS: Record<string, string> = {
  "ours": "#1f77b4",
  "ours-poll": "#6baed6",
  "ours-chat": "#9467bd",
  "node-net": "#2ca02c",
  "py-asyncore": "#ff7f0e",
  "uvloop": "#8c564b",
  "c-epoll": "#7f7f7f",
};
const FALLBACK_COLOR = "#bcbd22";

const PANEL_W = 300;
const PANEL_H = 200;
const AXIS_W = 44; // room for the tick labels left of each panel
const GAP = 28;
const TOP = 70; // title and legend
const PANEL_TITLE_H = 22;

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`;
}

/** A step of 1, 2 or 5 × 10^k that cuts 0..max into about four intervals. */
function niceStep(max: number): number {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function label(v: number): string {
  return v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function panel(x0: number, y0: number, title: string, servers: string[], values: Array<number | null>): string[] {
  const out: string[] = [];
  const plotX = x0 + AXIS_W;
  const plotW = PANEL_W - AXIS_W;
  const plotTop = y0 + PANEL_TITLE_H;
  const plotH = PANEL_H - PANEL_TITLE_H - 16; // room for the value labels on top
  const baseY = plotTop + plotH + 10;
  out.push(text(x0 + PANEL_W / 2, y0 + 14, title, `text-anchor="middle" font-weight="bold"`));
  const max = Math.max(...values.map((v) => v ?? 0));
  if (max <= 0) return [...out, text(x0 + PANEL_W / 2, y0 + PANEL_H / 2, "no data", `text-anchor="middle" fill="#888"`)];
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const y = (v: number): number => baseY - (v / top) * plotH;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  for (let i = 0; i * step <= top + step / 2; i++) {
    const t = i * step;
    out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(text(plotX - 4, y(t) + 4, t.toFixed(decimals), `text-anchor="end" fill="#555"`));
  }
  const slot = plotW / servers.length;
  const barW = Math.min(28, slot * 0.75);
  servers.forEach((name, i) => {
    const cx = plotX + slot * (i + 0.5);
    const v = values[i];
    if (v === null || v === undefined) {
      out.push(text(cx, baseY - 4, "n/a", `text-anchor="middle" fill="#888" font-size="9"`));
      return;
    }
    const h = baseY - y(v);
    out.push(`<rect x="${(cx - barW / 2).toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[name] ?? FALLBACK_COLOR}"><title>${escapeXml(`${name}: ${label(v)} µs/request`)}</title></rect>`);
    out.push(text(cx, y(v) - 3, label(v), `text-anchor="middle" font-size="9"`));
  });
  out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${baseY}" y2="${baseY}" stroke="#333"/>`);
  return out;
}

/** The legend's entries, wrapped to `width`; returns them and the y below the last line. */
function legend(servers: string[], y: number, width: number): { parts: string[]; bottom: number } {
  const out: string[] = [];
  let x = 16;
  for (const name of servers) {
    if (x + 16 + name.length * 7 > width) {
      x = 16;
      y += 16;
    }
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[name] ?? FALLBACK_COLOR}"/>`);
    out.push(text(x + 16, y, name));
    x += 28 + name.length * 7;
  }
  return { parts: out, bottom: y + 10 };
}

export function cpuChart(cells: EchoCell[], servers: string[], sizes: number[], conns: number[], subtitle: string): string {
  const width = Math.max(sizes.length * (PANEL_W + GAP) + GAP, 420);
  const key = legend(servers, 60, width);
  const top = Math.max(TOP, key.bottom + 10);
  const height = top + conns.length * (PANEL_H + GAP) + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    text(16, 22, "Server CPU time per echo request (µs, lower is better)", `font-size="15" font-weight="bold"`),
    text(16, 40, subtitle, `fill="#555"`),
    ...key.parts,
  ];
  conns.forEach((c, row) => {
    sizes.forEach((size, col) => {
      const values = servers.map((name) => {
        const cell = cells.find((x) => x.server === name && x.size === size && x.conns === c);
        return cell ? (medianSample(cell.samples)?.cpuPerReq ?? null) : null;
      });
      const x0 = GAP / 2 + col * (PANEL_W + GAP);
      const y0 = top + row * (PANEL_H + GAP);
      parts.push(...panel(x0, y0, `${sizeLabel(size)} messages, ${c} connections`, servers, values));
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
