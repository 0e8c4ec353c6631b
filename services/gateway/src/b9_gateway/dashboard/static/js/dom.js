// Small DOM and formatting helpers (no framework).

/** h('div.card#id', {onclick, class, ...attrs}, ...children) */
export function h(spec, attrs, ...children) {
  const [tagPart, ...rest] = spec.split(/(?=[.#])/);
  const el = tagPart === 'svg' || SVG_TAGS.has(tagPart)
    ? document.createElementNS('http://www.w3.org/2000/svg', tagPart)
    : document.createElement(tagPart || 'div');
  for (const r of rest) {
    if (r[0] === '.') el.classList.add(r.slice(1));
    else if (r[0] === '#') el.id = r.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') for (const c of String(v).split(/\s+/).filter(Boolean)) el.classList.add(c);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

const SVG_TAGS = new Set(['path', 'g', 'line', 'rect', 'circle', 'text', 'polyline', 'title', 'desc', 'defs', 'linearGradient', 'stop']);

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const nf = new Intl.NumberFormat('en-US');
const cf = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function num(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return nf.format(Math.round(v * 100) / 100);
}

export function compact(v) {
  if (v === null || v === undefined) return '—';
  return Math.abs(v) < 10000 ? nf.format(Math.round(v)) : cf.format(v);
}

export function pct(v, digits = 1) {
  if (v === null || v === undefined) return '—';
  return `${Number(v).toFixed(digits)}%`;
}

export function usd(v) {
  if (v === null || v === undefined) return '—';
  return `$${Number(v).toFixed(v < 1 ? 4 : 2)}`;
}

/** Relative time; past a week also the date (with the year when it is not this year). */
export function ago(iso) {
  if (!iso) return '—';
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  const rel = s < 0 ? `in ${age(-s)}` : `${age(s)} ago`;
  return Math.abs(s) < 7 * 86400 ? rel : `${rel} · ${dayShort(iso)}`;
}

export function age(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${Math.max(0, Math.round(s))} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

const thisYear = (d) => d.getUTCFullYear() === new Date().getUTCFullYear();

// Made once: toLocaleString(locale, options) builds a formatter per call (a live feed line
// used to spend most of its time there).
const fmt = (o) => new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', timeZone: 'UTC', ...o });
const DAY = fmt({});
const DAY_YEAR = fmt({ year: 'numeric' });
const STAMP = fmt({ hour: '2-digit', minute: '2-digit' });
const STAMP_YEAR = fmt({ year: 'numeric', hour: '2-digit', minute: '2-digit' });

function dayShort(iso) {
  const d = new Date(iso);
  return (thisYear(d) ? DAY : DAY_YEAR).format(d);
}

/** Date and time (UTC), with the year when it is not this year, without a relative part (chart axes). */
export function stamp(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${(thisYear(d) ? STAMP : STAMP_YEAR).format(d)} UTC`;
}

/** Date and time (UTC, year when not this year) and how long ago. */
export function date(iso) {
  if (!iso) return '—';
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  return `${stamp(iso)} (${s < 0 ? `in ${age(-s)}` : `${age(s)} ago`})`;
}

export function day(iso) {
  if (!iso) return '—';
  return DAY_YEAR.format(new Date(iso));
}

/**
 * A <time> saying which clock it is: 'event' = when it happened (the fact's occurred_at, set
 * by whoever observed it), 'received' = when b9 got or stored it. Text: date() or ago().
 */
export function when(iso, kind = 'event', { relative = false } = {}) {
  if (!iso) return h('span.muted', '—');
  const what = kind === 'event' ? 'Event time: when it happened' : 'Received time: when b9 got it';
  return h('time', { datetime: new Date(iso).toISOString(), title: `${what} (${stamp(iso)})`, dataset: { clock: kind } },
    relative ? ago(iso) : date(iso));
}

export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

/** Run fn at most once per ms (trailing call kept). */
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  let cancelled = false;
  // cancel() for good: a page's live re-reads (settled() timers) may fire after it is left
  const wrapped = () => {
    if (cancelled) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
    }
  };
  wrapped.cancel = () => { cancelled = true; clearTimeout(timer); };
  return wrapped;
}

let toastSeq = 0;
/** A toast; one with a `key` replaces the shown toast of the same key (one indicator, not a stack). */
export function toast(message, kind = 'info', { key = null } = {}) {
  const box = document.getElementById('toasts');
  const el = h(`div.toast.${kind}`, { id: `toast-${++toastSeq}`, dataset: key ? { key } : {} }, message);
  const same = key ? [...box.children].find((t) => t.dataset.key === key) : null;
  if (same) same.replaceWith(el); else box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
  return el;
}

export function initials(name) {
  return (name || '?').replace(/^[ru]\//, '').slice(0, 2).toUpperCase();
}

/** Stored media are served by the gateway at /media/<key>. */
export function mediaUrl(key) {
  return key ? `/media/${key.split('/').map(encodeURIComponent).join('/')}` : null;
}

// "Skip to content": focus the page's <main> without touching the hash (the router owns it:
// '#main' would be taken for a route and show "Not found").
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a.skip') : null;
  if (!a) return;
  e.preventDefault();
  const main = document.getElementById('main');
  if (main) { main.setAttribute('tabindex', '-1'); main.focus(); main.scrollIntoView(); }
});

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
/** Weekday name of Monday = 0 (as the API counts), or '—'. */
export function weekday(d) {
  return d === null || d === undefined ? '—' : WEEKDAYS[d] || '—';
}

/** An hour of the day as 'HH:00 UTC', or '—'. */
export function hourUtc(hr) {
  return hr === null || hr === undefined ? '—' : `${String(hr).padStart(2, '0')}:00 UTC`;
}
