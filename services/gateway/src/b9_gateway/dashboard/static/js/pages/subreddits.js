// Subreddit review (tabs by status, search, paged table, rules, single and bulk review,
// add subreddit) and subreddit detail (metric history chart, rules, requirements, top posts).
import { historySection } from '../history.js';
import { h, clear, num, compact, pct, ago, date, throttle, toast, initials, weekday, hourUtc } from '../dom.js';
import { get, post, put, live, settled, countsGuard } from '../api.js';
import { followRequest } from '../requests.js';
import { pageHeader, statCards, tabs, searchBox, select, dataTable, bulkBar, pager, dialog, button, badge, field, errorBox } from '../ui.js';
import { lineChart } from '../charts.js';

const REVIEWS = [['unreviewed', 'Unreviewed'], ['Ok', 'Ok'], ['No Seller', 'No Seller'], ['Non Related', 'Non Related'], ['User Feed', 'User Feed'], ['Banned', 'Banned']];
const ACTIONS = [['Ok', 'ok'], ['No Seller', 'secondary'], ['Non Related', 'secondary'], ['Banned', 'danger']];

export function subName(s) {
  return h('div.namecell', h('span.avatar.md.placeholder', { 'aria-hidden': 'true' }, initials(s.name)),
    h('div', h('a.cell-title', { href: `#/reddit/subreddits/${encodeURIComponent(s.name)}` }, `r/${s.name}`),
      h('div.cell-sub', s.title || s.public_description || ''), s.over18 ? badge('NSFW', 'warn') : null,
      s.verification_required ? badge('verification', 'info') : null));
}

/** Posting requirements as a definition list (rules dialog and subreddit detail). */
export function requirementsList(r, extra = []) {
  return h('dl.kv.requirements',
    h('div', h('dt', 'Min post karma'), h('dd', num(r.min_post_karma))), h('div', h('dt', 'Min comment karma'), h('dd', num(r.min_comment_karma))),
    h('div', h('dt', 'Min account age'), h('dd', r.min_account_age_days === null ? '—' : `${r.min_account_age_days} d`)),
    h('div', h('dt', 'Verification'), h('dd', r.verification_required ? 'required' : 'no')),
    h('div', h('dt', 'Best hour'), h('dd', hourUtc(r.best_posting_hour))), h('div', h('dt', 'Best day'), h('dd', weekday(r.best_posting_day))),
    h('div', h('dt', 'Authors sampled'), h('dd', num(r.authors_sampled))), extra);
}

export async function showRules(name) {
  const body = h('div', 'Loading…');
  const dlg = dialog(`Rules of r/${name}`, body, [button('Close', () => dlg.close())]);
  try {
    const d = await get(`/subreddits/${encodeURIComponent(name)}`);
    const r = d.requirements;
    clear(body,
      d.rules.length ? h('ol.rules', d.rules.map((x) => h('li', h('strong', x.short_name), x.description ? h('div.muted', x.description) : null))) : h('p.muted', 'No rules published.'),
      h('h3', 'Posting requirements'), requirementsList(r));
  } catch (e) { clear(body, errorBox(e)); }
}

export function addSubredditDialog() {
  const input = h('input', { type: 'text', placeholder: 'e.g. r/cosplay', required: true, autocomplete: 'off' });
  const err = h('div.error-box', { role: 'alert', hidden: true });
  const submit = async () => {
    try {
      const r = await post('/subreddits', { name: input.value.trim() });
      followRequest(r, `Add r/${r.target}:`);
      dlg.close();
    } catch (e) { err.textContent = e.message; err.hidden = false; }
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
  const dlg = dialog('Add a subreddit', [field('Subreddit name', input, 'The scraper fetches it now (about, rules, posts).'), err],
    [button('Cancel', () => dlg.close()), button('Add subreddit', submit, { kind: 'primary' })]);
  input.focus();
}

export async function reviewPage({ main }) {
  const st = { review: 'unreviewed', q: '', sort: 'avg_upvotes', order: 'desc', page: 1 };
  const ov = await get('/overview');
  const counts = { ...ov.subreddits_by_review };
  const guard = countsGuard();
  const statsBox = h('div');
  const renderStats = () => clear(statsBox, statCards([
    { id: 'total', label: 'Subreddits', value: num(ov.counts.subreddits) },
    { id: 'unreviewed', label: 'Unreviewed', value: num(counts.unreviewed || 0) },
    { id: 'new', label: 'New today', value: num(ov.counts.subreddits_new_today) },
    { id: 'ok', label: 'Ok', value: num(counts.Ok || 0) },
  ]));
  const tabBar = tabs(REVIEWS.map(([id, label]) => ({ id, label, count: counts[id] || 0 })), st.review, (id) => { st.review = id; st.page = 1; load(); }, 'Review status');
  const bulk = bulkBar('Bulk review');
  const table = dataTable({
    caption: 'Subreddits', selectable: true, key: (s) => s.name, onSelect: (sel) => bulk.update(sel.size),
    empty: 'No subreddits in this tab.',
    sort: { sort: st.sort, order: st.order }, onSort: (sort, order) => { st.sort = sort; st.order = order; st.page = 1; sortSel.querySelector('select').value = sort; load(); },
    cols: [
      { label: 'Subreddit', sort: 'name', order: 'asc', render: subName },
      { label: 'Members', class: 'num', sort: 'subscribers', render: (s) => compact(s.subscribers) },
      { label: 'Engagement', class: 'num', sort: 'engagement', render: (s) => (s.engagement === null ? '—' : pct(100 * s.engagement, 2)) },
      { label: 'Avg upvotes', class: 'num', sort: 'avg_upvotes', render: (s) => num(s.avg_upvotes_per_post) },
      { label: 'Score', class: 'num', sort: 'score', render: (s) => num(s.subreddit_score) },
      { label: 'Rules', render: (s) => button(`${s.rules_count} rules`, () => showRules(s.name), { small: true, kind: 'ghost', 'aria-label': `${s.rules_count} rules of r/${s.name}` }) },
      { label: 'Review', render: (s) => h('div.row-actions', ACTIONS.filter(([r]) => r !== s.review).map(([r, kind]) => button(r, () => review([s.name], r), { small: true, kind, 'aria-label': `Mark r/${s.name} ${r}` })),
        s.review ? button('Unreview', () => review([s.name], null), { small: true, kind: 'ghost', 'aria-label': `Clear the review of r/${s.name}` }) : null) },
      { label: 'Reviewed by', render: (s) => (s.reviewed_by ? h('span', s.reviewed_by) : h('span.muted', s.review_source === 'suggested' ? 'suggested' : '—')) },
    ],
  });
  bulk.actions.append(...ACTIONS.map(([r, kind]) => button(`Mark ${r}`, () => review(table.selected(), r), { small: true, kind })),
    button('Clear selection', () => table.clearSelection(), { small: true, kind: 'ghost' }));
  const pg = pager((p) => { st.page = p; load(); });
  const sortSel = select('Sort by', [['avg_upvotes', 'Avg upvotes'], ['score', 'Score'], ['engagement', 'Engagement'], ['subscribers', 'Members'], ['last_scraped', 'Last scraped'], ['name', 'Name']], st.sort,
    (v) => { st.sort = v; st.order = v === 'name' ? 'asc' : 'desc'; table.setSort({ sort: v, order: st.order }); st.page = 1; load(); });
  const listBox = h('div', { 'aria-busy': 'false' }, table.el);

  async function review(names, r) {
    if (!names.length) return;
    try {
      const res = names.length === 1 ? await put(`/subreddits/${encodeURIComponent(names[0])}/review`, { review: r })
        : await post('/subreddits/review', { names, review: r });
      table.removeKeys(names);
      guard.acted();
      const from = st.review;
      counts[from] = Math.max(0, (counts[from] || 0) - res.updated);
      counts[r || 'unreviewed'] = (counts[r || 'unreviewed'] || 0) + res.updated;
      tabBar.setCounts(counts);
      renderStats();
      toast(`${res.updated} subreddit${res.updated === 1 ? '' : 's'} marked ${r || 'unreviewed'}`, 'ok');
    } catch (e) { toast(e.message, 'error'); }
  }

  async function load() {
    listBox.setAttribute('aria-busy', 'true');
    try {
      const res = await get('/subreddits', { review: st.review, q: st.q, sort: st.sort, order: st.order, page: st.page, per_page: 50 });
      table.setRows(res.items);
      pg.update(res);
    } catch (e) { toast(e.message, 'error'); }
    listBox.setAttribute('aria-busy', 'false');
  }

  const reload = throttle(async () => {
    try {
      const o = await get('/overview');
      if (guard.fresh(o)) {
        Object.assign(ov, o);
        Object.keys(counts).forEach((k) => delete counts[k]);
        Object.assign(counts, o.subreddits_by_review);
        tabBar.setCounts(counts);
        renderStats();
      }
    } catch { /* shown on next action */ }
    load();
  }, 4000);
  const offs = [live.on('subreddit.fetched', settled(reload)),
    live.on('subreddit.reviewed', settled(reload))];  // anyone's review: counts, tabs and list

  clear(main,
    pageHeader('Subreddit review', 'Decide which subreddits we post in', button('Add subreddit', addSubredditDialog, { kind: 'primary' })),
    statsBox, tabBar,
    h('div.toolbar', searchBox('Search subreddits', '', (q) => { st.q = q; st.page = 1; load(); }, 'Name, title or description'),
      sortSel),
    bulk.el, listBox, pg.el);
  renderStats();
  await load();
  return { dispose() { offs.forEach((f) => f()); reload.cancel(); } };
}

export async function subredditDetailPage({ main, params: [name] }) {
  const d = await get(`/subreddits/${encodeURIComponent(name)}`, { history: 200 });
  const s = d.subreddit;
  const hist = d.history.map((x) => ({ ...x, t: new Date(x.at) }));
  const r = d.requirements;
  clear(main,
    pageHeader(`r/${s.name}`, s.title, h('a.btn', { href: '#/reddit/review' }, 'Back to review')),
    statCards([
      { label: 'Members', value: compact(s.subscribers) },
      { label: 'Active users', value: compact(s.active_users) },
      { label: 'Avg upvotes / post', value: num(s.avg_upvotes_per_post) },
      { label: 'Engagement', value: s.engagement === null ? '—' : pct(100 * s.engagement, 2) },
      { label: 'Review', value: s.review || 'unreviewed', hint: s.reviewed_by ? `by ${s.reviewed_by}` : null },
      { label: 'Last scraped', value: ago(s.last_scraped_at) },
    ]),
    h('div.grid-2',
      h('section.card', h('h2', 'Members over time'), lineChart([{ name: 'Members', points: hist.map((x) => ({ x: x.t, y: x.subscribers })) }], { title: `Members of r/${s.name}` })),
      h('section.card', h('h2', 'Avg upvotes and score over time'), lineChart([
        { name: 'Avg upvotes / post', points: hist.map((x) => ({ x: x.t, y: x.avg_upvotes_per_post })) },
        { name: 'Score', points: hist.map((x) => ({ x: x.t, y: x.subreddit_score })) }], { title: `Metric history of r/${s.name}` }))),
    h('div.grid-2',
      h('section.card', h('h2', 'Rules'), d.rules.length ? h('ol.rules', d.rules.map((x) => h('li', h('strong', x.short_name), x.description ? h('div.muted', x.description) : null))) : h('p.muted', 'No rules published.')),
      h('section.card', h('h2', 'Posting requirements'), requirementsList(r, [h('div', h('dt', 'Tags'), h('dd', (s.tags || []).map((t) => h('span.tag', t))))]))),
    h('section.card', h('h2', 'Top posts'), h('div.table-wrap', h('table.data.compact', h('thead', h('tr', h('th', 'Title'), h('th', 'Author'), h('th.num', 'Score'), h('th.num', 'Comments'), h('th', 'Type'), h('th', 'Posted (UTC)'))),
      h('tbody', d.top_posts.length ? d.top_posts.map((p) => h('tr', h('td', p.title), h('td', p.author ? h('a', { href: `#/reddit/users/${encodeURIComponent(p.author)}` }, `u/${p.author}`) : '—'), h('td.num', num(p.score)), h('td.num', num(p.num_comments)), h('td', p.content_type), h('td', date(p.created_utc))))
        : h('tr', h('td.empty', { colspan: 6 }, 'No posts yet.')))))),
    historySection('subreddit', s.name));
}
