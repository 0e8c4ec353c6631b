// Decision history of one entity (GET /history): who decided what, when, from -> to.
import { h, clear, when } from './dom.js';
import { get } from './api.js';

const show = (v) => (v === null || v === undefined ? '—' : Array.isArray(v) ? (v.length ? v.join(', ') : 'none')
  : typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join('; ') : String(v));

// A card that loads the history itself; `reload()` refreshes it after a decision.
export function historySection(entityType, entityId) {
  const body = h('div', h('p.muted', 'Loading history…'));
  const el = h('section.card.history', { 'aria-live': 'polite' }, h('h2', 'Decision history'), body);
  async function reload() {
    try {
      const res = await get('/history', { entity_type: entityType, entity_id: entityId, per_page: 50 });
      clear(body, res.items.length ? h('div.table-wrap', h('table.data.compact',
        h('caption.sr-only', 'Decisions, newest first'),
        h('thead', h('tr', h('th', 'When'), h('th', 'Who'), h('th', 'What'), h('th', 'From'), h('th', 'To'))),
        h('tbody', res.items.map((x) => h('tr',
          h('td', when(x.decided_at, 'event')),
          h('td', `${x.actor_name} `, h('span.muted.small', `${x.actor_role}, ${x.channel}`)),
          h('td', x.field + (x.batch ? ' (bulk)' : '')), h('td', show(x.before)), h('td', show(x.after)))))))
        : h('p.muted', 'No decisions yet.'), res.total > res.items.length ? h('p.muted.small', `${res.items.length} of ${res.total} shown`) : null);
    } catch (e) {
      clear(body, h('p.error', `History unavailable: ${e.message}`));
    }
  }
  reload();
  el.reload = reload;
  return el;
}
