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

export function ago(iso) {
  if (!iso) return '—';
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  return `${age(s)} ago`;
}

export function age(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${Math.max(0, Math.round(s))} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

export function date(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
}

export function day(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString('en-GB', { day: '2-digit', month: 'short', year: 'numeric', timeZone: 'UTC' });
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
  const wrapped = () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
    }
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

let toastSeq = 0;
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = h(`div.toast.${kind}`, { id: `toast-${++toastSeq}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

export function initials(name) {
  return (name || '?').replace(/^[ru]\//, '').slice(0, 2).toUpperCase();
}

/** Stored media are served by the gateway at /media/<key>. */
export function mediaUrl(key) {
  return key ? `/media/${key.split('/').map(encodeURIComponent).join('/')}` : null;
}
