// Instagram creator review: tabs, follower filters, sorts, single and bulk review,
// add a creator, related-creator discovery with progress. New creators arrive over SSE.
import { h, clear, num, compact, pct, ago, throttle, toast, mediaUrl } from '../dom.js';
import { get, post, put, live, settled, countsGuard } from '../api.js';
import { followRequest } from '../requests.js';
import { pageHeader, statCards, tabs, searchBox, select, numberInput, dataTable, bulkBar, pager, button, badge, dialog, field, avatar, progress } from '../ui.js';

export function creatorCell(c) {
  return h('div.namecell', avatar(mediaUrl(c.profile_pic_key), c.username),
    h('div', h('a.cell-title', { href: `#/instagram/creators/${encodeURIComponent(c.ig_user_id)}` }, `@${c.username || c.ig_user_id}`),
      c.is_verified ? badge('verified', 'info') : null, h('div.cell-sub', c.full_name || '')));
}

export function addCreatorDialog(done = () => {}) {
  const user = h('input', { type: 'text', placeholder: '@username', autocomplete: 'off' });
  const niche = h('input', { type: 'text', placeholder: 'optional', autocomplete: 'off' });
  const err = h('div.error-box', { role: 'alert', hidden: true });
  const submit = async () => {
    try {
      const r = await post('/creators', { username: user.value.trim(), niche: niche.value.trim() || null });
      followRequest(r, `Add @${r.target}:`);
      dlg.close(); done();
    } catch (e) { err.textContent = e.message; err.hidden = false; }
  };
  const dlg = dialog('Add a creator', [field('Instagram username', user), field('Niche', niche), err],
    [button('Cancel', () => dlg.close()), button('Add creator', submit, { kind: 'primary' })]);
  user.focus();
}

export async function creatorReviewPage({ main }) {
  const st = { review: 'pending', q: '', sort: 'followers', order: 'desc', min: null, max: null, page: 1 };
  const ov = await get('/overview');
  const counts = { ...ov.creators_by_review };
  const guard = countsGuard();
  const related = h('div#related');
  // The stat cards and the tabs show the same counts, updated together after every action.
  const statsBox = h('div');
  const renderStats = () => clear(statsBox, statCards([
    { id: 'total', label: 'Creators', value: num(ov.counts.creators) },
    { id: 'pending', label: 'Pending review', value: num(counts.pending || 0) },
    { id: 'approved', label: 'Approved', value: num(counts.ok || 0) },
    { id: 'rejected', label: 'Rejected', value: num(counts.non_related || 0) },
  ]));
  renderStats();
  const bulk = bulkBar('Bulk review');
  const table = dataTable({
    caption: 'Instagram creators', selectable: true, key: (c) => c.ig_user_id, onSelect: (sel) => bulk.update(sel.size), empty: 'No creators in this tab.',
    sort: { sort: st.sort, order: st.order }, onSort: (sort, order) => { st.sort = sort; st.order = order; st.page = 1; load(); },
    cols: [
      { label: 'Creator', render: creatorCell },
      { label: 'Bio', render: (c) => h('div', h('div.cell-sub', c.biography || '—'), c.external_url ? h('div.cell-sub', c.external_url) : null) },
      { label: 'Followers', class: 'num', sort: 'followers', render: (c) => compact(c.followers_count ?? c.discovered_followers_count) },
      { label: 'Engagement', class: 'num', sort: 'engagement', render: (c) => (c.engagement_rate === null ? '—' : pct(100 * c.engagement_rate, 2)) },
      { label: 'Discovered', sort: 'discovered', render: (c) => h('div', ago(c.discovered_at), h('div.cell-sub', c.discovery_source || '')) },
      { label: 'Review', render: (c) => h('div.row-actions',
        c.review_status !== 'ok' ? button('Approve', () => review([c.ig_user_id], 'ok'), { small: true, kind: 'ok', 'aria-label': `Approve @${c.username}` }) : null,
        c.review_status !== 'non_related' ? button('Not related', () => review([c.ig_user_id], 'non_related'), { small: true, 'aria-label': `Mark @${c.username} not related` }) : null,
        c.review_status ? button('Reset', () => review([c.ig_user_id], null), { small: true, kind: 'ghost', 'aria-label': `Reset the review of @${c.username}` }) : null) },
      { label: 'Reviewed by', render: (c) => (c.reviewed_by ? h('span', c.reviewed_by) : h('span.muted', '—')) },
    ],
  });
  bulk.actions.append(button('Approve selected', () => review(table.selected(), 'ok'), { small: true, kind: 'ok' }),
    button('Mark not related', () => review(table.selected(), 'non_related'), { small: true }),
    button('Clear selection', () => table.clearSelection(), { small: true, kind: 'ghost' }));
  const pg = pager((p) => { st.page = p; load(); });
  const tabBar = tabs([{ id: 'pending', label: 'Pending' }, { id: 'ok', label: 'Approved' }, { id: 'non_related', label: 'Rejected' }].map((t) => ({ ...t, count: counts[t.id] || 0 })),
    st.review, (id) => { st.review = id; st.page = 1; load(); }, 'Review status');

  async function review(ids, status) {
    try {
      const res = ids.length === 1 ? await put(`/creators/${encodeURIComponent(ids[0])}/review`, { review_status: status })
        : await post('/creators/review', { ids, review_status: status });
      table.removeKeys(ids);
      guard.acted();
      counts[st.review] = Math.max(0, (counts[st.review] || 0) - res.updated);
      counts[status || 'pending'] = (counts[status || 'pending'] || 0) + res.updated;
      tabBar.setCounts(counts);
      renderStats();
      toast(`${res.updated} creator${res.updated === 1 ? '' : 's'} ${status === 'ok' ? 'approved' : status ? 'marked not related' : 'reset'}`, 'ok');
    } catch (e) { toast(e.message, 'error'); }
  }

  async function load() {
    const res = await get('/creators', { review: st.review, q: st.q, sort: st.sort, order: st.order, min_followers: st.min, max_followers: st.max, page: st.page, per_page: 50 });
    table.setRows(res.items);
    pg.update(res);
  }

  let relStart = null;
  async function loadRelated() {
    const s = await get('/creators/related/status');
    const running = s.pending_commands > 0 || (relStart !== null && s.processed < relStart.target && Date.now() - relStart.at < 600e3);
    clear(related, h('div.card-head', h('h2', 'Related-creator discovery'), button('Get related creators', startRelated, { kind: 'primary', disabled: s.unprocessed === 0 })),
      h('dl.kv', h('div', h('dt', 'Approved creators'), h('dd', num(s.approved))), h('div', h('dt', 'Processed'), h('dd', num(s.processed))),
        h('div', h('dt', 'Left to process'), h('dd', num(s.unprocessed))), h('div', h('dt', 'New found (24 h)'), h('dd', num(s.new_found_24h))),
        h('div', h('dt', 'Queued commands'), h('dd', num(s.pending_commands))), h('div', h('dt', 'Last run'), h('dd', ago(s.last_processed_at)))),
      h('div.small.muted', running ? 'Running…' : 'Idle'), progress(s.processed, s.approved, 'Related-creator discovery progress'));
  }
  async function startRelated() {
    try {
      const s = await get('/creators/related/status');
      const r = await post('/creators/related', { batch_size: 10 });
      relStart = { at: Date.now(), target: s.processed + Math.min(10, s.unprocessed) };
      followRequest(r, 'Get related creators:', { onDone: () => { relStart = null; loadRelated(); } });
      loadRelated();
    } catch (e) { toast(e.message, 'error'); }
  }

  const reload = throttle(async () => {
    try {
      const o = await get('/overview');
      if (guard.fresh(o)) {
        Object.assign(counts, { pending: 0, ok: 0, non_related: 0 }, o.creators_by_review);
        Object.assign(ov, o);
        tabBar.setCounts(counts);
        renderStats();
      }
      await load();
    } catch { /* the next action shows the error */ }
  }, 2000);
  const reloadRelated = throttle(() => { loadRelated().catch(() => {}); }, 2000);
  const offs = [
    live.on('creator.scraped', settled(reload)),
    // anyone's review: counts, tabs, the list and the approved creators related discovery runs on
    live.on('creator.reviewed', settled(() => { reload(); reloadRelated(); })),
    live.on('creator.discovered', settled(() => { reload(); reloadRelated(); })),
    live.on('creator.related_processed', settled(reloadRelated)),
  ];
  clear(main,
    pageHeader('Creator review', 'Approve the Instagram creators we want to track', button('Add creator', () => addCreatorDialog(), { kind: 'primary' })),
    statsBox,
    h('section.card', related),
    tabBar,
    h('div.toolbar', searchBox('Search creators', '', (q) => { st.q = q; st.page = 1; load(); }, 'Username, name or bio'),
      numberInput('Min followers', null, (v) => { st.min = v; st.page = 1; load(); }, { min: 0, step: 1000 }),
      numberInput('Max followers', null, (v) => { st.max = v; st.page = 1; load(); }, { min: 0, step: 1000 }),
      select('Sort by', [['followers', 'Followers'], ['engagement', 'Engagement'], ['discovered', 'Discovery date'], ['growth', 'Weekly growth'], ['last_scraped', 'Last scraped']], st.sort, (v) => { st.sort = v; st.order = 'desc'; table.setSort({ sort: v, order: 'desc' }); load(); })),
    bulk.el, table.el, pg.el);
  await Promise.all([load(), loadRelated()]);
  return { dispose() { offs.forEach((f) => f()); reload.cancel(); reloadRelated.cancel(); } };
}
