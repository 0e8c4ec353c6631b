// Hand-rolled SVG charts: line (time series, several series) and bars. Each chart has a
// <title>/<desc> and a visually hidden data table for screen readers.
import { h, compact, num, stamp } from './dom.js';

const axisFmt = (v) => (Math.abs(v) >= 10000 ? compact(v) : num(v));

const PAD = { l: 52, r: 16, t: 14, b: 28 };
const COLORS = ['#2f5fd0', '#1c7c4a', '#b54708', '#7a3fb8', '#b42318', '#0e7490'];

function ticks(min, max, n = 4) {
  if (min === max) { if (min > 0) min = 0; else max = min + 1; }
  const step0 = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const lo = Math.floor(min / step) * step;
  const out = [];
  // up to the first tick at or above max, so the highest value stays inside the plot
  for (let v = lo; ; v += step) {
    out.push(Math.round(v * 1e6) / 1e6);
    if (v >= max - step * 0.001) break;
  }
  return out;
}

/**
 * series: [{name, points: [{x: Date|ms, y: number}]}]
 * opts: {title, height, format(y), xFormat(ms), area}
 */
export function lineChart(series, { title, height = 220, width = 640, format = axisFmt, xFormat = null, area = true } = {}) {
  const H = height;
  const W = width;
  const fmtX = xFormat || ((ms) => stamp(new Date(ms).toISOString()));
  const pts = series.flatMap((s) => s.points).filter((p) => p.y !== null && p.y !== undefined);
  const figure = h('figure.chart', { dataset: { chart: title } });
  if (pts.length === 0) {
    figure.append(h('div.chart-empty', 'No data yet'));
    return figure;
  }
  if (new Set(pts.map((p) => +p.x)).size < 2) {
    // One measurement is a value, not a trend: say it instead of a lone dot on a made-up axis.
    figure.dataset.points = String(pts.length);
    figure.append(h('div.chart-empty', 'One measurement so far (a line needs two): ',
      series.filter((s) => s.points.length).map((s) => `${s.name} ${format(s.points[0].y)} at ${fmtX(+s.points[0].x)}`).join('; ')));
    return figure;
  }
  figure.dataset.points = String(pts.length);
  const xs = pts.map((p) => +p.x);
  const ys = pts.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  // Axis labels: dates when the series spans days, else times (the full stamp is in each point's title)
  const tickFmt = xFormat || (x1 - x0 > 2 * 86400e3 ? (ms) => dayLabel(ms) : (ms) => new Date(ms).toISOString().slice(11, 16));
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  // Zoom in when the values sit far from zero (follower counts), else start at zero.
  const yt = ticks(lo >= 0 && hi > 0 && lo / hi > 0.5 ? lo : Math.min(0, lo), hi);
  const [y0, y1] = [yt[0], yt[yt.length - 1] === yt[0] ? yt[0] + 1 : yt[yt.length - 1]];
  const sx = (x) => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (y) => H - PAD.b - ((y - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg' });
  svg.append(h('title', title || 'Chart'));
  svg.append(h('desc', `${series.map((s) => s.name).join(', ')}: ${pts.length} points`));
  for (const v of yt) {
    svg.append(h('line.grid', { x1: PAD.l, x2: W - PAD.r, y1: sy(v), y2: sy(v) }));
    svg.append(h('text.axis', { x: PAD.l - 8, y: sy(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  const xticks = 4;
  for (let i = 0; i <= xticks; i++) {
    const x = x0 + ((x1 - x0) * i) / xticks;
    svg.append(h('text.axis', { x: sx(x), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === xticks ? 'end' : 'middle' }, tickFmt(x)));
  }
  series.forEach((s, i) => {
    const color = s.color || COLORS[i % COLORS.length];
    const p = s.points.filter((q) => q.y !== null && q.y !== undefined).sort((a, b) => +a.x - +b.x);
    if (!p.length) return;
    const d = p.map((q, j) => `${j ? 'L' : 'M'}${sx(+q.x).toFixed(1)},${sy(q.y).toFixed(1)}`).join('');
    if (area && series.length === 1 && p.length > 1) {
      const a = h('path', { d: `${d}L${sx(+p[p.length - 1].x).toFixed(1)},${sy(y0)}L${sx(+p[0].x).toFixed(1)},${sy(y0)}Z`, fill: color, opacity: '0.08' });
      svg.append(a);
    }
    svg.append(h('path.series', { d, stroke: color, fill: 'none' }));
    for (const q of p.length <= 24 ? p : []) {
      const c = h('circle', { cx: sx(+q.x), cy: sy(q.y), r: 3, fill: color });
      c.append(h('title', `${s.name}: ${format(q.y)} at ${fmtX(+q.x)}`));
      svg.append(c);
    }
  });
  figure.append(svg);
  if (series.length > 1) {
    figure.append(h('div.legend', series.filter((s) => s.points.some((q) => q.y !== null && q.y !== undefined)).map((s, i) => h('span.legend-item', h('span.swatch', { dataset: { c: i } }), s.name))));
    figure.querySelectorAll('.swatch').forEach((el, i) => { el.style.background = series[i].color || COLORS[i % COLORS.length]; });
  }
  figure.append(srTable(series, format, fmtX));
  return figure;
}

function dayLabel(ms) {
  const d = new Date(ms);
  const year = d.getUTCFullYear() === new Date().getUTCFullYear() ? {} : { year: 'numeric' };
  return d.toLocaleDateString('en-GB', { day: '2-digit', month: 'short', ...year, timeZone: 'UTC' });
}

function srTable(series, format, xFormat) {
  const rows = series.flatMap((s) => s.points.slice(-50).map((p) => h('tr', h('td', s.name), h('td', xFormat(+p.x)), h('td', format(p.y)))));
  return h('table.sr-only', h('caption', 'Chart data'), h('tr', h('th', 'Series'), h('th', 'When'), h('th', 'Value')), rows);
}

/** Vertical bars. items: [{label, value, highlight}] */
export function barChart(items, { title, height = 200, width = 640, format = axisFmt } = {}) {
  const H = height;
  const W = width;
  const figure = h('figure.chart', { dataset: { chart: title } });
  if (!items.length) {
    figure.append(h('div.chart-empty', 'No data yet'));
    return figure;
  }
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  const yt = ticks(0, max);
  const y1 = yt[yt.length - 1] || 1;
  const sy = (y) => H - PAD.b - (y / y1) * (H - PAD.t - PAD.b);
  const bw = (W - PAD.l - PAD.r) / items.length;
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg' });
  svg.append(h('title', title || 'Chart'));
  for (const v of yt) {
    svg.append(h('line.grid', { x1: PAD.l, x2: W - PAD.r, y1: sy(v), y2: sy(v) }));
    svg.append(h('text.axis', { x: PAD.l - 8, y: sy(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  const every = Math.ceil(items.length / 12);
  items.forEach((it, i) => {
    const x = PAD.l + i * bw + bw * 0.15;
    const r = h('rect', { x, y: sy(it.value), width: Math.max(1, bw * 0.7), height: Math.max(0, sy(0) - sy(it.value)), rx: 2, class: it.highlight ? 'bar hi' : 'bar' });
    r.append(h('title', `${it.label}: ${format(it.value)}`));
    svg.append(r);
    if (i % every === 0) svg.append(h('text.axis', { x: x + bw * 0.35, y: H - 8, 'text-anchor': 'middle' }, it.label));
  });
  figure.append(svg);
  figure.append(h('table.sr-only', h('caption', title || 'Chart data'), items.map((it) => h('tr', h('th', it.label), h('td', format(it.value))))));
  return figure;
}
