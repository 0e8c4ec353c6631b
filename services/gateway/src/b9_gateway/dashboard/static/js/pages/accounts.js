// Accounts (admins): people, their roles, disable / enable, new keys. Same store as `b9 users`.
import { h, clear, date, toast } from '../dom.js';
import { get, post, put } from '../api.js';
import { pageHeader, dataTable, button, badge, dialog, field } from '../ui.js';

const ROLES = ['viewer', 'reviewer', 'admin'];
const when = (ts) => (ts ? date(new Date(ts * 1000).toISOString()) : '—');

/** Show a new key once: it is not stored anywhere it could be read back. */
function showKey(name, key) {
  const out = h('input#new-key', { type: 'text', readonly: true, value: key, 'aria-label': `API key of ${name}` });
  const dlg = dialog(`API key of ${name}`, [
    h('p', 'Give this key to its owner now: it is shown only once. They sign in with it (or send it as ',
      h('code', 'Authorization: Bearer …'), ').'),
    out,
  ], [button('Done', () => dlg.close(), { kind: 'primary' })]);
  out.select();
}

export async function accountsPage({ main }) {
  const table = dataTable({
    caption: 'Accounts', key: (a) => a.name, empty: 'No accounts yet.',
    cols: [
      { label: 'Name', render: (a) => h('div.cell-title', a.name) },
      { label: 'Role', render: (a) => roleSelect(a) },
      { label: 'State', render: (a) => (a.disabled ? badge('disabled', 'warn') : badge('active', 'ok')) },
      { label: 'Created', render: (a) => when(a.created_at) },
      { label: 'Key from', render: (a) => when(a.key_rotated_at) },
      { label: '', render: (a) => h('div.row-actions',
        button(a.disabled ? 'Enable' : 'Disable', () => act(a, a.disabled ? 'enable' : 'disable'),
          { small: true, kind: a.disabled ? 'ok' : 'danger', 'aria-label': `${a.disabled ? 'Enable' : 'Disable'} ${a.name}` }),
        button('New key', () => rotate(a), { small: true, 'aria-label': `New key for ${a.name}` })) },
    ],
  });

  function roleSelect(a) {
    const sel = h('select', { 'aria-label': `Role of ${a.name}` }, ROLES.map((r) => h('option', { value: r, selected: r === a.role }, r)));
    sel.addEventListener('change', async () => {
      try { await put(`/accounts/${encodeURIComponent(a.name)}/role`, { role: sel.value }); toast(`${a.name} is now ${sel.value}`, 'ok'); load(); } catch (e) { toast(e.message, 'error'); sel.value = a.role; }
    });
    return sel;
  }

  async function load() { table.setRows(await get('/accounts')); }

  async function act(a, action) {
    try { await post(`/accounts/${encodeURIComponent(a.name)}/${action}`); toast(`${a.name} ${action}d`, 'ok'); load(); } catch (e) { toast(e.message, 'error'); }
  }

  function rotate(a) {
    const dlg = dialog(`New key for ${a.name}?`, h('p', 'The current key and every session begun with it stop working at once.'),
      [button('Cancel', () => dlg.close()), button('Make a new key', async () => {
        try { const r = await post(`/accounts/${encodeURIComponent(a.name)}/key`); dlg.close(); showKey(a.name, r.key); load(); } catch (e) { toast(e.message, 'error'); }
      }, { kind: 'danger' })]);
  }

  function add() {
    const name = h('input', { type: 'text', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9_-]{0,63}' });
    const role = h('select', {}, ROLES.map((r) => h('option', { value: r, selected: r === 'reviewer' }, r)));
    const err = h('div.error-box', { role: 'alert', hidden: true });
    const dlg = dialog('Add a person', [field('Name', name, 'Letters, digits, _ or -'), field('Role', role), err],
      [button('Cancel', () => dlg.close()), button('Add', async () => {
        try {
          const r = await post('/accounts', { name: name.value.trim(), role: role.value });
          dlg.close(); showKey(r.account.name, r.key); load();
        } catch (e) { err.textContent = e.message; err.hidden = false; }
      }, { kind: 'primary' })]);
    name.focus();
  }

  clear(main, pageHeader('Accounts', 'People who sign in, and what their role lets them do',
    button('Add person', add, { kind: 'primary' })),
  h('p.muted', 'Viewers read everything; reviewers also review, tag, niche, edit models and add subreddits, users and creators; admins also control scrapers, replays, dead letters and accounts.'),
  table.el);
  await load();
}
