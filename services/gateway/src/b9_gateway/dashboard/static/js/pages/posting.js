// Posting: Reddit accounts linked to models, and subreddit recommendations by tags
// (the model's tags or chosen ones) with an SFW toggle and sorts.
import { h, clear, num, compact, pct, toast, weekday, hourUtc, throttle } from '../dom.js';
import { get, put, live, settled } from '../api.js';
import { pageHeader, statCards, select, toggle, dataTable, pager, button, field, badge } from '../ui.js';
import { subName } from './subreddits.js';
import { taxonomy, tagSelect } from './categorization.js';

export async function postingPage({ main }) {
  const [models, tax] = await Promise.all([get('/models'), taxonomy()]);
  const st = { model: models[0]?.id ?? null, tags: [...(models[0]?.assigned_tags || [])], sfw: false, sort: 'score', order: null, page: 1 };
  const accountsBox = h('div');
  const tagsBox = h('div.chips');
  const statsBox = h('div');

  const recTable = dataTable({
    caption: 'Recommended subreddits', key: (s) => s.name, empty: 'No Ok subreddit shares these tags.',
    sort: { sort: st.sort, order: 'desc' }, onSort: (sort, order) => { st.sort = sort; st.order = order; st.page = 1; loadRecs(); },
    cols: [
      { label: 'Subreddit', render: subName },
      { label: 'Score', class: 'num', sort: 'score', render: (s) => num(s.subreddit_score) },
      { label: 'Members', class: 'num', sort: 'subscribers', render: (s) => compact(s.subscribers) },
      { label: 'Avg upvotes', class: 'num', sort: 'avg_upvotes', render: (s) => num(s.avg_upvotes_per_post) },
      { label: 'Engagement', class: 'num', sort: 'engagement', render: (s) => (s.engagement === null ? '—' : pct(100 * s.engagement, 2)) },
      { label: 'Min karma', class: 'num', sort: 'min_karma', order: 'asc', render: (s) => h('span', { title: `Post karma ${num(s.min_post_karma)}, comment karma ${num(s.min_comment_karma)}, account age ${s.min_account_age_days ?? '—'} d (10th percentile of the posters seen)` }, num(s.min_post_karma)) },
      { label: 'Min age', class: 'num', render: (s) => (s.min_account_age_days === null ? '—' : `${num(s.min_account_age_days)} d`) },
      { label: 'Best time', render: (s) => (s.best_posting_hour === null && s.best_posting_day === null ? '—' : `${weekday(s.best_posting_day)}, ${hourUtc(s.best_posting_hour)}`) },
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
      try { await put(`/users/${encodeURIComponent(u)}/model`, { model_id: st.model }); toast(`u/${u} linked`, 'ok'); loadAccounts(); refreshModels(); } catch (e) { toast(e.status === 404 ? `u/${u} is not known yet: discover it on User analysis first` : e.message, 'error'); }
    };
    clear(accountsBox,
      d.accounts.length ? h('div.table-wrap', h('table.data.compact', h('caption.sr-only', 'Linked accounts'),
        h('thead', h('tr', h('th', 'Account'), h('th.num', 'Karma'), h('th.num', 'Age (days)'), h('th', 'Our creator'), h('th', h('span.sr-only', 'Actions')))),
        h('tbody', d.accounts.map((a) => h('tr', h('td', h('a', { href: `#/reddit/users/${encodeURIComponent(a.username)}` }, `u/${a.username}`)),
          h('td.num', num(a.total_karma)), h('td.num', num(a.account_age_days)), h('td', a.our_creator ? badge('our creator', 'ok') : ''),
          h('td', button('Unlink', async () => { await put(`/users/${encodeURIComponent(a.username)}/model`, { model_id: null }); loadAccounts(); refreshModels(); }, { small: true, kind: 'ghost', 'aria-label': `Unlink u/${a.username}` })))))))
        : h('p.muted', 'No Reddit account linked to this model.'),
      h('div.toolbar', field('Link an account', input), button('Link', link, { kind: 'primary' })));
  }

  function renderTags() {
    clear(tagsBox, st.tags.length ? st.tags.map((t) => h('span.tag', t, h('button', { type: 'button', 'aria-label': `Remove tag ${t}`, onclick: () => { st.tags = st.tags.filter((x) => x !== t); renderTags(); st.page = 1; loadRecs(); } }, '×'))) : h('span.muted', 'No tags chosen.'));
  }

  async function loadRecs() {
    if (!st.tags.length) { recTable.setRows([]); pg.update({ page: 1, pages: 1, total: 0 }); clear(statsBox); return; }
    const q = { tags: st.tags, sfw: st.sfw ? true : null, sort: st.sort, order: st.order, page: st.page, per_page: 25 };
    const res = st.model ? await get(`/models/${st.model}/recommendations`, q) : await get('/recommendations', q);
    recTable.setRows(res.items);
    pg.update(res);
    clear(statsBox, statCards([
      { id: 'recommended', label: 'Recommended', value: num(res.total) },
      { id: 'sfw', label: 'SFW', value: num(res.counts?.sfw), hint: 'of all recommended' },
      { id: 'verification', label: 'Verification required', value: num(res.counts?.verification_required), hint: 'of all recommended' },
    ]));
  }

  const addTag = tagSelect(tax, 'Add a tag…');
  addTag.addEventListener('change', () => { if (addTag.value && !st.tags.includes(addTag.value)) { st.tags.push(addTag.value); renderTags(); st.page = 1; loadRecs(); } addTag.value = ''; });
  const modelLabel = (m) => `${m.name} (${m.accounts} account${m.accounts === 1 ? '' : 's'})`;
  // After a link / unlink the selector's counts are read again (not only on the next reload).
  async function refreshModels() {
    try {
      for (const m of await get('/models')) {
        const opt = modelSel.querySelector(`option[value="${m.id}"]`);
        if (opt) opt.textContent = modelLabel(m);
      }
    } catch { /* the counts stay; the next action shows errors */ }
  }
  const modelSel = select('Model', models.map((m) => [String(m.id), modelLabel(m)]), String(st.model), (v) => {
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
        toggle('SFW only', st.sfw, (v) => { st.sfw = v; st.page = 1; loadRecs(); })))),
    h('h2.section', 'Recommended subreddits'), h('p.muted.small', 'Click a column header to sort by it, again to reverse. Requirements are the 10th percentile of the posters seen; best time is the UTC hour and weekday with the highest mean score.'),
    statsBox, recTable.el, pg.el);
  renderTags();
  // anyone's account links (this model's list, every model's count)
  const reload = throttle(() => { loadAccounts().catch(() => {}); refreshModels(); }, 2000);
  const off = live.on('model.account_', settled(reload));
  await Promise.all([loadAccounts(), loadRecs()]);
  return { dispose() { off(); reload.cancel(); } };
}
