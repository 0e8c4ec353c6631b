// Posting: Reddit accounts linked to models, and subreddit recommendations by tags
// (the model's tags or chosen ones) with an SFW toggle and sorts.
import { h, clear, num, compact, pct, toast } from '../dom.js';
import { get, put } from '../api.js';
import { pageHeader, statCards, select, toggle, dataTable, pager, button, field, badge } from '../ui.js';
import { subName } from './subreddits.js';
import { taxonomy, tagSelect } from './categorization.js';

export async function postingPage({ main }) {
  const [models, tax] = await Promise.all([get('/models'), taxonomy()]);
  const st = { model: models[0]?.id ?? null, tags: [...(models[0]?.assigned_tags || [])], sfw: false, sort: 'score', page: 1 };
  const accountsBox = h('div');
  const tagsBox = h('div.chips');
  const statsBox = h('div');

  const recTable = dataTable({
    caption: 'Recommended subreddits', key: (s) => s.name, empty: 'No Ok subreddit shares these tags.',
    cols: [
      { label: 'Subreddit', render: subName },
      { label: 'Members', class: 'num', render: (s) => compact(s.subscribers) },
      { label: 'Avg upvotes', class: 'num', render: (s) => num(s.avg_upvotes_per_post) },
      { label: 'Engagement', class: 'num', render: (s) => (s.engagement === null ? '—' : pct(100 * s.engagement, 2)) },
      { label: 'Min karma', class: 'num', render: (s) => num(s.min_post_karma) },
      { label: 'Matching tags', render: (s) => h('div.chips', s.tags.filter((t) => st.tags.includes(t)).map((t) => h('span.tag', t))) },
    ],
  });
  const pg = pager((p) => { st.page = p; loadRecs(); });

  async function loadAccounts() {
    if (!st.model) { clear(accountsBox, h('p.muted', 'No models yet. ', h('a', { href: '#/models' }, 'Create one'), ' to link Reddit accounts.')); return; }
    const d = await get(`/models/${st.model}`);
    const input = h('input', { type: 'text', placeholder: 'reddit username', autocomplete: 'off' });
    const link = async () => {
      const u = input.value.trim().replace(/^u\//, '');
      if (!u) return;
      try { await put(`/users/${encodeURIComponent(u)}/model`, { model_id: st.model }); toast(`u/${u} linked`, 'ok'); loadAccounts(); } catch (e) { toast(e.status === 404 ? `u/${u} is not known yet: discover it on User analysis first` : e.message, 'error'); }
    };
    clear(accountsBox,
      d.accounts.length ? h('div.table-wrap', h('table.data.compact', h('caption.sr-only', 'Linked accounts'),
        h('thead', h('tr', h('th', 'Account'), h('th.num', 'Karma'), h('th.num', 'Age (days)'), h('th', ''), h('th', ''))),
        h('tbody', d.accounts.map((a) => h('tr', h('td', h('a', { href: `#/reddit/users/${encodeURIComponent(a.username)}` }, `u/${a.username}`)),
          h('td.num', num(a.total_karma)), h('td.num', num(a.account_age_days)), h('td', a.our_creator ? badge('our creator', 'ok') : ''),
          h('td', button('Unlink', async () => { await put(`/users/${encodeURIComponent(a.username)}/model`, { model_id: null }); loadAccounts(); }, { small: true, kind: 'ghost', 'aria-label': `Unlink u/${a.username}` })))))))
        : h('p.muted', 'No Reddit account linked to this model.'),
      h('div.toolbar', field('Link an account', input), button('Link', link, { kind: 'primary' })));
  }

  function renderTags() {
    clear(tagsBox, st.tags.length ? st.tags.map((t) => h('span.tag', t, h('button', { type: 'button', 'aria-label': `Remove tag ${t}`, onclick: () => { st.tags = st.tags.filter((x) => x !== t); renderTags(); st.page = 1; loadRecs(); } }, '×'))) : h('span.muted', 'No tags chosen.'));
  }

  async function loadRecs() {
    if (!st.tags.length) { recTable.setRows([]); pg.update({ page: 1, pages: 1, total: 0 }); clear(statsBox); return; }
    const q = { tags: st.tags, sfw: st.sfw ? true : null, sort: st.sort, page: st.page, per_page: 25 };
    const res = st.model ? await get(`/models/${st.model}/recommendations`, q) : await get('/recommendations', q);
    recTable.setRows(res.items);
    pg.update(res);
    clear(statsBox, statCards([
      { label: 'Recommended', value: num(res.total) },
      { label: 'SFW on this page', value: num(res.items.filter((s) => !s.over18).length) },
      { label: 'Verification required', value: num(res.items.filter((s) => s.verification_required).length), hint: 'on this page' },
    ]));
  }

  const addTag = tagSelect(tax, 'Add a tag…');
  addTag.addEventListener('change', () => { if (addTag.value && !st.tags.includes(addTag.value)) { st.tags.push(addTag.value); renderTags(); st.page = 1; loadRecs(); } addTag.value = ''; });
  const modelSel = select('Model', models.map((m) => [String(m.id), `${m.name} (${m.accounts} accounts)`]), String(st.model), (v) => {
    st.model = Number(v);
    st.tags = [...(models.find((m) => m.id === st.model)?.assigned_tags || [])];
    renderTags(); loadAccounts(); st.page = 1; loadRecs();
  });

  clear(main,
    pageHeader('Posting', 'Where each model\'s accounts should post'),
    h('div.toolbar', models.length ? modelSel : null),
    h('div.grid-2',
      h('section.card', h('h2', 'Linked Reddit accounts'), accountsBox),
      h('section.card', h('h2', 'Tags for recommendations'), tagsBox, h('div.toolbar', field('Add a tag', addTag),
        toggle('SFW only', st.sfw, (v) => { st.sfw = v; st.page = 1; loadRecs(); }),
        select('Sort by', [['score', 'Score'], ['avg_upvotes', 'Avg upvotes'], ['min_karma', 'Min karma (lowest first)'], ['engagement', 'Engagement'], ['subscribers', 'Members']], st.sort, (v) => { st.sort = v; loadRecs(); })))),
    h('h2.section', 'Recommended subreddits'), statsBox, recTable.el, pg.el);
  renderTags();
  await Promise.all([loadAccounts(), loadRecs()]);
}
