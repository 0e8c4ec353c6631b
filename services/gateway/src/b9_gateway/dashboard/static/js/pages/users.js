// User analysis: list, search, filters, user detail with posts, mark our creators (single, bulk),
// discover a user.
import { historySection } from '../history.js';
import { h, clear, num, ago, date, throttle, toast } from '../dom.js';
import { get, post, put, live, settled } from '../api.js';
import { followRequest } from '../requests.js';
import { pageHeader, statCards, tabs, searchBox, select, numberInput, dataTable, bulkBar, pager, button, badge, dialog, field, avatar } from '../ui.js';

const QUALITY = { all: {}, ours: { our_creator: true }, high: { min_karma: 5000 }, low: { max_karma: 999 } };

function discoverDialog(done) {
  const input = h('input', { type: 'text', placeholder: 'u/username', autocomplete: 'off' });
  const err = h('div.error-box', { role: 'alert', hidden: true });
  const submit = async () => {
    try {
      const r = await post('/users', { username: input.value.trim(), our_creator: true });
      followRequest(r, `Add our creator u/${r.target}:`);
      dlg.close(); done();
    } catch (e) { err.textContent = e.message; err.hidden = false; }
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
  const dlg = dialog('Add one of our creators', [field('Reddit username', input, 'Marked as our creator; the scraper fetches the profile and posts now.'), err],
    [button('Cancel', () => dlg.close()), button('Add and discover', submit, { kind: 'primary' })]);
  input.focus();
}

export async function usersPage({ main }) {
  const st = { tab: 'all', q: '', sort: 'karma', order: 'desc', minKarma: null, page: 1 };
  // The list and the counts are asked for at once; the counts (the overview, dear at scale) fill
  // their cards when they come, after the table if need be.
  const counts = get('/overview');
  const first = fetchPage();
  const cards = h('div');
  const bulk = bulkBar('Bulk update');
  const table = dataTable({
    caption: 'Reddit users', selectable: true, key: (u) => u.username, onSelect: (sel) => bulk.update(sel.size), empty: 'No users match.',
    sort: { sort: st.sort, order: st.order }, onSort: (sort, order) => { st.sort = sort; st.order = order; st.page = 1; load(); },
    cols: [
      { label: 'User', render: (u) => h('div.namecell', avatar(null, u.username), h('div', h('a.cell-title', { href: `#/reddit/users/${encodeURIComponent(u.username)}` }, `u/${u.username}`), u.our_creator ? h('div', badge('our creator', 'ok')) : null)) },
      { label: 'Karma', class: 'num', sort: 'karma', render: (u) => num(u.total_karma) },
      { label: 'Karma / day', class: 'num', sort: 'karma_per_day', render: (u) => num(u.karma_per_day) },
      { label: 'Avg post score', class: 'num', sort: 'avg_post_score', render: (u) => num(u.avg_post_score) },
      { label: 'Account age', class: 'num', sort: 'account_age', render: (u) => (u.account_age_days === null ? '—' : `${num(u.account_age_days)} d`) },
      { label: 'Last scraped', sort: 'last_scraped', render: (u) => ago(u.last_scraped_at) },
      { label: 'Ours', render: (u) => button(u.our_creator ? 'Unmark' : 'Mark ours', () => mark([u.username], !u.our_creator), { small: true, kind: u.our_creator ? 'ghost' : 'ok', 'aria-label': u.our_creator ? `Unmark u/${u.username} (no longer our creator)` : `Mark ours: u/${u.username}` }) },
    ],
  });
  bulk.actions.append(button('Mark as our creators', () => mark(table.selected(), true), { small: true, kind: 'ok' }),
    button('Unmark', () => mark(table.selected(), false), { small: true }), button('Clear selection', () => table.clearSelection(), { small: true, kind: 'ghost' }));
  const pg = pager((p) => { st.page = p; load(); });

  async function mark(names, ours) {
    try {
      const res = names.length === 1 ? await put(`/users/${encodeURIComponent(names[0])}/our-creator`, { our_creator: ours })
        : await post('/users/bulk', { usernames: names, our_creator: ours });
      toast(`${res.updated} user${res.updated === 1 ? '' : 's'} ${ours ? 'marked as ours' : 'unmarked'}`, 'ok');
      await load();
    } catch (e) { toast(e.message, 'error'); }
  }

  function fetchPage() {
    return get('/users', { ...QUALITY[st.tab], q: st.q, sort: st.sort, order: st.order, min_karma: st.minKarma ?? QUALITY[st.tab].min_karma, page: st.page, per_page: 50 });
  }
  function show(res) {
    table.setRows(res.items);
    pg.update(res);
  }
  async function load() { show(await fetchPage()); }
  function renderCards(ov) {
    clear(cards, statCards([
      { id: 'total', label: 'Users', value: ov ? num(ov.counts.users) : '…' },
      { id: 'ours', label: 'Our creators', value: ov ? num(ov.counts.our_creators) : '…' },
      { id: 'models', label: 'Models', value: ov ? num(ov.counts.models) : '…' },
    ]));
  }

  const reload = throttle(() => load().catch(() => {}), 4000);
  const offs = [live.on('user.fetched', settled(reload)), live.on('user.marked_ours', settled(reload))];
  clear(main,
    pageHeader('User analysis', 'Reddit accounts: quality, activity and ours', button('Add our creator', () => discoverDialog(load), { kind: 'primary' })),
    cards,
    tabs([{ id: 'all', label: 'All' }, { id: 'ours', label: 'Our creators' }, { id: 'high', label: 'High karma (5k+)' }, { id: 'low', label: 'Low karma (<1k)' }], st.tab, (id) => { st.tab = id; st.page = 1; load(); }, 'Quality'),
    h('div.toolbar', searchBox('Search users', '', (q) => { st.q = q; st.page = 1; load(); }, 'Username prefix'),
      numberInput('Min karma', null, (v) => { st.minKarma = v; st.page = 1; load(); }, { min: 0 }),
      select('Sort by', [['karma', 'Karma'], ['karma_per_day', 'Karma per day'], ['avg_post_score', 'Avg post score'], ['account_age', 'Account age'], ['last_scraped', 'Last scraped']], st.sort, (v) => { st.sort = v; st.order = 'desc'; table.setSort({ sort: v, order: 'desc' }); load(); })),
    bulk.el, table.el, pg.el);
  renderCards(null);
  counts.then(renderCards, (e) => clear(cards, h('p.muted', `Counts unavailable: ${e.message}`)));
  show(await first);
  return { dispose() { offs.forEach((f) => f()); reload.cancel(); } };
}

export async function userDetailPage({ main, params: [name] }) {
  const d = await get(`/users/${encodeURIComponent(name)}`, { posts: 100 });
  const u = d.user;
  const history = historySection('user', u.username);
  const render = () => clear(main,
    pageHeader(`u/${u.username}`, u.our_creator ? 'One of our creators' : 'Reddit user',
      button(u.our_creator ? 'Unmark as ours' : 'Mark as our creator', async () => {
        try {
          const res = await put(`/users/${encodeURIComponent(u.username)}/our-creator`, { our_creator: !u.our_creator });
          Object.assign(u, (await get(`/users/${encodeURIComponent(name)}`, { posts: 0 })).user); render(); history.reload();
          if (!res.stored) toast('Sent: not stored yet, it appears on reload in a moment', 'info');
        } catch (e) { toast(e.message, 'error'); }
      }, { kind: u.our_creator ? 'secondary' : 'primary' }), h('a.btn', { href: '#/reddit/users' }, 'All users')),
    statCards([
      { label: 'Total karma', value: num(u.total_karma), hint: `${num(u.link_karma)} post · ${num(u.comment_karma)} comment` },
      { label: 'Karma per day', value: num(u.karma_per_day) },
      { label: 'Account age', value: u.account_age_days === null ? '—' : `${num(u.account_age_days)} d` },
      { label: 'Avg post score', value: num(u.avg_post_score) },
      { label: 'Most active hour', value: u.most_active_hour === null || u.most_active_hour === undefined ? '—' : `${u.most_active_hour}:00 UTC` },
      { label: 'Model', value: d.model ? d.model.name : '—' },
    ]),
    h('section.card', h('h2', `Posts (${d.posts.length})`), h('div.table-wrap', h('table.data.compact', h('caption.sr-only', 'Posts'),
      h('thead', h('tr', h('th', 'Title'), h('th', 'Subreddit'), h('th.num', 'Score'), h('th.num', 'Comments'), h('th', 'Type'), h('th', 'Posted (UTC)'))),
      h('tbody', d.posts.length ? d.posts.map((p) => h('tr', h('td', p.title), h('td', h('a', { href: `#/reddit/subreddits/${encodeURIComponent(p.subreddit)}` }, `r/${p.subreddit}`)),
        h('td.num', num(p.score)), h('td.num', num(p.num_comments)), h('td', p.content_type), h('td', date(p.created_utc))))
        : h('tr', h('td.empty', { colspan: 6 }, 'No posts stored for this user.')))))),
    history);
  render();
}
