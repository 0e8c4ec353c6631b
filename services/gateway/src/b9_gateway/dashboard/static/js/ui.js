// Reusable pieces: page header, stat cards, tabs, selectable table, pager, dialog, fields.
import { h, clear, debounce, num } from './dom.js';

let uid = 0;
export const nextId = (p = 'f') => `${p}-${++uid}`;

export function pageHeader(title, subtitle, ...actions) {
  return h('header.page-head', h('div', h('h1', { tabindex: '-1', id: 'page-title' }, title),
    subtitle ? h('p.muted', subtitle) : null), h('div.actions', actions));
}

export function statCards(items) {
  return h('div.stats', items.map((s) => h('div.stat', { dataset: { stat: s.id || s.label } },
    h('div.stat-label', s.label), h('div.stat-value', s.value), s.hint ? h('div.stat-hint', s.hint) : null)));
}

export function badge(text, kind = 'neutral') {
  return h(`span.badge.${kind}`, text);
}

export function button(label, onclick, { kind = 'secondary', small = false, ...attrs } = {}) {
  return h(`button.btn.${kind}${small ? '.small' : ''}`, { type: 'button', onclick, ...attrs }, label);
}

/** Tabs with optional counts. items: [{id, label, count}] */
export function tabs(items, current, onChange, label = 'Filter') {
  const bar = h('div.tabs', { role: 'tablist', 'aria-label': label });
  const render = (cur) => clear(bar, items.map((t) => h('button.tab', {
    type: 'button', role: 'tab', 'aria-selected': String(t.id === cur), tabindex: t.id === cur ? '0' : '-1',
    dataset: { tab: t.id }, onclick: () => { render(t.id); onChange(t.id); },
    onkeydown: (e) => {
      const i = items.findIndex((x) => x.id === t.id);
      const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : null;
      if (j === null) return;
      const next = items[(j + items.length) % items.length];
      render(next.id); onChange(next.id);
      bar.querySelector(`[data-tab="${CSS.escape(next.id)}"]`).focus();
    },
  }, t.label, t.count !== undefined && t.count !== null ? h('span.count', num(t.count)) : null)));
  render(current);
  bar.setCounts = (counts) => { for (const t of items) t.count = counts[t.id]; render(bar.querySelector('[aria-selected="true"]')?.dataset.tab || current); };
  return bar;
}

export function field(label, input, hint) {
  const id = input.id || nextId();
  input.id = id;
  return h('div.field', h('label', { for: id }, label), input, hint ? h('small.muted', hint) : null);
}

export function searchBox(label, value, onSearch, placeholder = 'Search…') {
  const input = h('input', { type: 'search', value: value || '', placeholder, autocomplete: 'off' });
  const fire = debounce(() => onSearch(input.value.trim()), 300);
  input.addEventListener('input', fire);
  return field(label, input);
}

export function select(label, options, value, onChange) {
  const sel = h('select', {}, options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
  sel.addEventListener('change', () => onChange(sel.value));
  return field(label, sel);
}

export function numberInput(label, value, onChange, attrs = {}) {
  const input = h('input', { type: 'number', value: value ?? '', inputmode: 'numeric', ...attrs });
  input.addEventListener('change', () => onChange(input.value === '' ? null : Number(input.value)));
  return field(label, input);
}

export function toggle(label, checked, onChange) {
  const input = h('input', { type: 'checkbox', checked, role: 'switch' });
  input.addEventListener('change', () => onChange(input.checked));
  return h('label.switch', input, h('span', label));
}

/**
 * A table with optional row selection and sortable columns.
 * cols: [{label, render(row) -> node|string, class, sort: 'api sort key', order: 'asc'|'desc' (first click)}],
 * key(row) -> string. With onSort(sort, order): a sortable column's header is a button; a click sorts
 * by it, a second click reverses (aria-sort says which). `sort`: the current {sort, order}.
 */
export function dataTable({ cols, key, caption, selectable = false, onSelect = () => {}, empty = 'Nothing here.', sort = null, onSort = null }) {
  const selected = new Set();
  const table = h('table.data');
  const wrap = h('div.table-wrap', table);
  let rows = [];
  const allBox = selectable ? h('input', { type: 'checkbox', 'aria-label': 'Select all rows on this page' }) : null;
  if (allBox) {
    allBox.addEventListener('change', () => {
      for (const r of rows) (allBox.checked ? selected.add(key(r)) : selected.delete(key(r)));
      renderBody(); onSelect(selected);
    });
  }
  let cur = sort ? { ...sort } : null;
  const headRow = h('tr');
  const renderHead = () => clear(headRow, selectable ? h('th.sel', { scope: 'col' }, allBox) : null,
    cols.map((c) => {
      // a column without a visible label (row actions) still names itself to assistive technology
      if (!c.sort || !onSort) return h('th', { scope: 'col', class: c.class }, c.label || h('span.sr-only', c.srLabel || 'Actions'));
      const on = cur && cur.sort === c.sort;
      const next = on ? (cur.order === 'asc' ? 'desc' : 'asc') : (c.order || 'desc');
      return h('th', { scope: 'col', class: c.class, 'aria-sort': on ? (cur.order === 'asc' ? 'ascending' : 'descending') : null },
        h('button.th-sort', { type: 'button', dataset: { sort: c.sort }, title: `Sort by ${c.label.toLowerCase()}, ${next === 'asc' ? 'lowest' : 'highest'} first`,
          onclick: () => { cur = { sort: c.sort, order: next }; renderHead(); onSort(cur.sort, cur.order); } },
        c.label, h('span.sort-mark', { 'aria-hidden': 'true' }, on ? (cur.order === 'asc' ? ' ▲' : ' ▼') : ' ↕')));
    }));
  renderHead();
  const thead = h('thead', headRow);
  const tbody = h('tbody');
  append3(table, caption ? h('caption.sr-only', caption) : null, thead, tbody);

  function renderBody() {
    if (!rows.length) {
      clear(tbody, h('tr', h('td.empty', { colspan: cols.length + (selectable ? 1 : 0) }, empty)));
      if (allBox) allBox.checked = false;
      return;
    }
    clear(tbody, rows.map((r) => {
      const k = key(r);
      const box = selectable ? h('input', { type: 'checkbox', checked: selected.has(k), 'aria-label': `Select ${k}` }) : null;
      if (box) box.addEventListener('change', () => { box.checked ? selected.add(k) : selected.delete(k); allBox.checked = rows.every((x) => selected.has(key(x))); onSelect(selected); });
      return h('tr', { dataset: { key: k }, class: selected.has(k) ? 'selected' : null },
        selectable ? h('td.sel', box) : null,
        cols.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.render(r))));
    }));
    if (allBox) allBox.checked = rows.length > 0 && rows.every((x) => selected.has(key(x)));
  }

  return {
    el: wrap,
    setRows(next) { rows = next; const keys = new Set(rows.map(key)); for (const k of [...selected]) if (!keys.has(k)) selected.delete(k); renderBody(); onSelect(selected); },
    removeKeys(keys) { const drop = new Set(keys); rows = rows.filter((r) => !drop.has(key(r))); for (const k of drop) selected.delete(k); renderBody(); onSelect(selected); },
    selected: () => [...selected],
    clearSelection() { selected.clear(); renderBody(); onSelect(selected); },
    rows: () => rows,
    setSort(next) { cur = next ? { ...next } : null; renderHead(); },
  };
}

function append3(el, ...c) { for (const x of c) if (x) el.append(x); }

/** A bulk-action bar shown when rows are selected. */
export function bulkBar(label) {
  const count = h('span.bulk-count');
  const actions = h('div.bulk-actions');
  const bar = h('div.bulk', { role: 'region', 'aria-label': label, hidden: true }, count, actions);
  return {
    el: bar,
    actions,
    update(n) { bar.hidden = n === 0; count.textContent = `${n} selected`; },
  };
}

export function pager(onPage) {
  const el = h('nav.pager', { 'aria-label': 'Pages' });
  return {
    el,
    update({ page, pages, total }) {
      clear(el,
        h('span.muted', `${num(total)} total · page ${page} of ${pages}`),
        button('Previous', () => onPage(page - 1), { small: true, disabled: page <= 1 }),
        button('Next', () => onPage(page + 1), { small: true, disabled: page >= pages }));
    },
  };
}

/** A modal <dialog>. Returns the dialog; close() removes it. Focus goes to the first control. */
export function dialog(title, body, actions = []) {
  const id = nextId('dlg');
  const dlg = h('dialog.modal', { 'aria-labelledby': id },
    h('header', h('h2', { id }, title), button('×', () => dlg.close(), { kind: 'ghost', 'aria-label': 'Close' })),
    h('div.modal-body', body),
    actions.length ? h('footer', actions) : null);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

export function loading(text = 'Loading…') {
  return h('div.loading', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), text);
}

export function errorBox(err) {
  return h('div.error-box', { role: 'alert' }, err.message || String(err));
}

export function progress(value, max, label) {
  const pctv = max ? Math.min(100, Math.round((100 * value) / max)) : 0;
  const bar = h('div.progress', { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pctv), 'aria-label': label });
  const fill = h('div.progress-fill');
  fill.style.width = `${pctv}%`;
  bar.append(fill);
  return bar;
}

export function avatar(src, name, size = 'md') {
  if (src) return h(`img.avatar.${size}`, { src, alt: '', loading: 'lazy' });
  return h(`span.avatar.${size}.placeholder`, { 'aria-hidden': 'true' }, (name || '?').replace(/^[@ru/]+/, '').slice(0, 2).toUpperCase());
}
