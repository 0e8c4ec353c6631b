// Alerts: rules (reviewers and admins make them), the notifications they raised, each rule's
// webhook deliveries. Read state is the account's (every browser of one person agrees): "Mark all
// read" is a decision (POST /notifications/read, up to the newest notification) and the API marks
// each notification `unread` and counts them against that person's mark.
import { h, clear, num, stamp, toast, throttle } from '../dom.js';
import { get, post, patch, del, live, settled } from '../api.js';
import { pageHeader, dataTable, button, badge, dialog, field, statCards } from '../ui.js';
import { historySection } from '../history.js';

const TARGETS = ['subreddit.discovered', 'subreddit.fetched', 'subreddit.categorized', 'subreddit.reviewed',
  'post.fetched', 'user.fetched', 'creator.scraped', 'creator.discovered', 'creator.media',
  'creator.categorized', 'creator.reviewed', 'scrape.attempted', 'media.failed'];
export async function unreadCount() {
  return (await get('/notifications', { per_page: 1 })).unread;
}

export async function alertsPage({ main }) {
  const rules = dataTable({
    caption: 'Alert rules', key: (r) => r.id, empty: 'No rules yet: make the first one.',
    cols: [
      { label: 'Rule', render: (r) => h('div', h('div.cell-title', r.name), h('div.cell-sub', r.on)) },
      { label: 'Filter', render: (r) => h('code.small', JSON.stringify(r.where)) },
      { label: 'Webhook', render: (r) => r.webhook ? h('span', { title: r.webhook }, new URL(r.webhook).host, r.slack ? ' (Slack)' : '') : h('span.muted', 'dashboard only') },
      { label: 'Cap', class: 'num', render: (r) => `${num(r.cap)} / ${num(r.window_seconds)} s` },
      { label: 'State', render: (r) => badge(r.paused ? 'paused' : 'active', r.paused ? 'warn' : 'ok') },
      { label: 'By', render: (r) => r.updated_by },
      { label: '', render: (r) => h('div.row-actions',
        button(r.paused ? 'Resume' : 'Pause', () => toggle(r), { small: true, 'aria-label': `${r.paused ? 'Resume' : 'Pause'} ${r.name}` }),
        button('Deliveries', () => deliveries(r), { small: true, 'aria-label': `Deliveries of ${r.name}` }),
        button('History', () => { const d = dialog(`History of ${r.name}`, historySection('alert_rule', r.id), [button('Close', () => d.close())]); }, { small: true }),
        button('Delete', () => remove(r), { small: true, kind: 'danger', 'aria-label': `Delete ${r.name}` })) },
    ],
  });
  const reload = throttle(() => load(), 1000);
  const offLive = ['notification.created', 'alert_rule.'].map((t) => live.on(t, settled(reload)));  // also anyone's rules
  const notes = dataTable({
    caption: 'Notifications', key: (n) => n.id, empty: 'No notifications yet.',
    cols: [
      { label: '', render: (n) => n.unread ? badge('new', 'info') : '' },
      { label: 'What', render: (n) => h('div', h('a.cell-title', { href: n.link || '#/alerts' }, n.title),
        h('div.cell-sub', n.digest ? `digest of ${num(n.count)}: ${n.entities.join(', ')}` : n.entity)) },
      { label: 'Rule', render: (n) => n.rule_name },
      { label: 'When', render: (n) => stamp(n.created_at) },
      { label: '', render: (n) => n.replayed ? badge('replayed', 'neutral') : '' },
    ],
  });
  const stats = h('div');

  async function load() {
    const [list, page] = await Promise.all([get('/alerts'), get('/notifications', { per_page: 50 })]);
    rules.setRows(list);
    notes.setRows(page.items);
    clear(stats, statCards([{ label: 'Rules', value: num(list.length) }, { label: 'Notifications', value: num(page.total) },
      { label: 'Unread', value: num(page.unread), id: 'unread' }]));
  }

  async function markRead() {
    try {
      const [newest] = (await get('/notifications', { per_page: 1 })).items;
      if (newest) await post('/notifications/read', { up_to: newest.created_at, up_to_id: newest.id });
      window.dispatchEvent(new Event('b9-notifications-read'));
      await load();
    } catch (e) { toast(e.message, 'error'); }
  }

  async function toggle(r) {
    try { await patch(`/alerts/${r.id}`, { paused: !r.paused }); toast(`${r.name} ${r.paused ? 'resumed' : 'paused'}`, 'ok'); load(); } catch (e) { toast(e.message, 'error'); }
  }

  async function deliveries(r) {
    const page = await get(`/alerts/${r.id}/deliveries`);
    const body = page.items.length ? h('table.data', h('thead', h('tr', ['Outcome', 'Attempts', 'Status', 'Reason', 'When'].map((c) => h('th', c)))),
      h('tbody', page.items.map((d) => h('tr', h('td', badge(d.outcome, d.outcome === 'delivered' ? 'ok' : 'error')), h('td', num(d.attempts)),
        h('td', d.status ?? '–'), h('td', d.reason || ''), h('td', stamp(d.at)))))) : h('p.muted', 'No deliveries yet.');
    const dlg = dialog(`Webhook deliveries of ${r.name}`, body, [button('Close', () => dlg.close())]);
  }

  function remove(r) {
    const dlg = dialog(`Delete ${r.name}?`, h('p', 'Its notifications stay; no new ones are made.'),
      [button('Cancel', () => dlg.close()), button('Delete rule', async () => { try { await del(`/alerts/${r.id}`); dlg.close(); load(); } catch (e) { toast(e.message, 'error'); } }, { kind: 'danger' })]);
  }

  function create() {
    const name = h('input', { type: 'text', required: true });
    const on = h('select', {}, TARGETS.map((t) => h('option', { value: t }, t)));
    const where = h('textarea', { rows: 4, placeholder: '{"subscribers": {"gte": 10000}}' });
    const webhook = h('input', { type: 'url', placeholder: 'https://hooks.example.com/b9' });
    const slack = h('input', { type: 'checkbox' });
    const cap = h('input', { type: 'number', value: 20, min: 1 });
    const err = h('div.error-box', { role: 'alert', hidden: true });
    const save = async () => {
      try {
        const body = { name: name.value.trim(), on: on.value, where: where.value.trim() ? JSON.parse(where.value) : {}, cap: Number(cap.value), slack: slack.checked };
        if (webhook.value.trim()) body.webhook = webhook.value.trim();
        await post('/alerts', body);
        toast(`Rule ${body.name} made`, 'ok'); dlg.close(); load();
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    };
    const dlg = dialog('New alert rule', [field('Name', name), field('When', on), field('Filter (JSON, see /docs)', where),
      field('Webhook (optional)', webhook), h('label.switch', slack, h('span', 'Slack-compatible body')), field('At most per minute (the rest: one digest)', cap), err],
    [button('Cancel', () => dlg.close()), button('Make rule', save, { kind: 'primary' })]);
    name.focus();
  }

  clear(main, pageHeader('Alerts', 'Rules over the live stream, what they raised, where it was sent',
    button('Mark all read', markRead), button('New rule', create, { kind: 'primary' })), stats, rules.el, notes.el);
  await load();
  return { dispose() { offLive.forEach((f) => f()); reload.cancel(); } };
}
