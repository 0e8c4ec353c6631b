// Models (personas): list, create, edit, delete; tags drive the posting recommendations.
import { h, clear, num, day, toast, throttle } from '../dom.js';
import { get, post, patch, del, live, settled } from '../api.js';
import { pageHeader, dataTable, button, badge, dialog, field } from '../ui.js';
import { taxonomy, tagSelect } from './categorization.js';
import { historySection } from '../history.js';

const STATUSES = ['active', 'onboarding', 'paused', 'inactive'];

export async function modelsPage({ main }) {
  const tax = await taxonomy();
  const table = dataTable({
    caption: 'Models', key: (m) => String(m.id), empty: 'No models yet: create the first one.',
    cols: [
      { label: 'Name', render: (m) => h('div', h('div.cell-title', m.name), h('div.cell-sub', m.description || '')) },
      { label: 'Status', render: (m) => badge(m.status, m.status === 'active' ? 'ok' : m.status === 'paused' ? 'warn' : 'neutral') },
      { label: 'Tags', render: (m) => h('div.chips', m.assigned_tags.map((t) => h('span.tag', t))) },
      { label: 'Accounts', class: 'num', render: (m) => num(m.accounts) },
      { label: 'Created', render: (m) => day(m.created_at) },
      { label: '', render: (m) => h('div.row-actions', button('Edit', () => edit(m), { small: true, 'aria-label': `Edit ${m.name}` }),
        h('a.btn.small', { href: '#/reddit/posting' }, 'Posting'),
        button('History', () => { const dlg = dialog(`History of ${m.name}`, historySection('model', String(m.id)), [button('Close', () => dlg.close())]); }, { small: true, 'aria-label': `History of ${m.name}` }),
        button('Delete', () => remove(m), { small: true, kind: 'danger', 'aria-label': `Delete ${m.name}` })) },
    ],
  });

  async function load() { table.setRows(await get('/models')); }

  function edit(m) {
    const name = h('input', { type: 'text', value: m?.name || '', required: true });
    const desc = h('textarea', {}, m?.description || '');
    const status = h('select', {}, STATUSES.map((s) => h('option', { value: s, selected: (m?.status || 'active') === s }, s)));
    let tags = [...(m?.assigned_tags || [])];
    const chips = h('div.chips');
    const renderChips = () => clear(chips, tags.length ? tags.map((t) => h('span.tag', t, h('button', { type: 'button', 'aria-label': `Remove ${t}`, onclick: () => { tags = tags.filter((x) => x !== t); renderChips(); } }, '×'))) : h('span.muted', 'No tags'));
    const add = tagSelect(tax, 'Add a tag…');
    add.addEventListener('change', () => { if (add.value && !tags.includes(add.value)) tags.push(add.value); add.value = ''; renderChips(); });
    const err = h('div.error-box', { role: 'alert', hidden: true });
    const save = async () => {
      const body = { name: name.value.trim(), description: desc.value, status: status.value, assigned_tags: tags };
      try {
        if (m) await patch(`/models/${m.id}`, body); else await post('/models', body);
        toast(`Model ${body.name} saved`, 'ok');
        dlg.close(); load();
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    };
    renderChips();
    const dlg = dialog(m ? `Edit ${m.name}` : 'New model', [field('Stage name', name), field('Description', desc), field('Status', status), h('div.field', h('span.muted.small', 'Tags'), chips), field('Add a tag', add), err],
      [button('Cancel', () => dlg.close()), button('Save', save, { kind: 'primary' })]);
    name.focus();
  }

  function remove(m) {
    const dlg = dialog(`Delete ${m.name}?`, h('p', `Its ${m.accounts} linked Reddit account(s) are unlinked, not deleted.`),
      [button('Cancel', () => dlg.close()), button('Delete model', async () => { try { await del(`/models/${m.id}`); toast(`${m.name} deleted`, 'ok'); dlg.close(); load(); } catch (e) { toast(e.message, 'error'); } }, { kind: 'danger' })]);
  }

  clear(main, pageHeader('Models', 'Personas, their tags and their Reddit accounts', button('New model', () => edit(null), { kind: 'primary' })), table.el);
  const reload = throttle(() => load().catch(() => {}), 2000);
  const off = live.on('model.', settled(reload));  // anyone's models and account links
  await load();
  return { dispose() { off(); reload.cancel(); } };
}
