// Niching: approved creators with engagement, avg likes and views; set the niche per row or in bulk.
import { h, clear, num, compact, pct, toast, throttle } from '../dom.js';

// Mean likes of a creator's reels and posts: a 0 (no posts, or none counted) is no value, not a mean.
const likes = (v) => (v ? compact(v) : '—');
import { get, post, put, live, settled } from '../api.js';
import { pageHeader, tabs, searchBox, dataTable, bulkBar, pager, button, field } from '../ui.js';
import { creatorCell, addCreatorDialog } from './creators.js';

export async function nichingPage({ main }) {
  const st = { tab: 'all', q: '', sort: 'followers', order: 'desc', page: 1 };
  const known = new Set();
  const list = h('datalist#niches');
  const nicheInput = (value, label) => h('input', { type: 'text', list: 'niches', value: value || '', placeholder: 'niche', 'aria-label': label, autocomplete: 'off' });
  const bulk = bulkBar('Bulk niche');
  const table = dataTable({
    caption: 'Approved creators', selectable: true, key: (c) => c.ig_user_id, onSelect: (sel) => bulk.update(sel.size), empty: 'No approved creators here.',
    sort: { sort: st.sort, order: st.order }, onSort: (sort, order) => { st.sort = sort; st.order = order; st.page = 1; load(); },
    cols: [
      { label: 'Creator', render: creatorCell },
      { label: 'Followers', class: 'num', sort: 'followers', render: (c) => compact(c.followers_count) },
      { label: 'Engagement', class: 'num', sort: 'engagement', render: (c) => (c.engagement_rate === null ? '—' : pct(100 * c.engagement_rate, 2)) },
      { label: 'Avg reel likes', class: 'num', render: (c) => likes(c.avg_reel_likes) },
      { label: 'Avg post likes', class: 'num', render: (c) => likes(c.avg_post_likes) },
      { label: 'Avg views', class: 'num', render: (c) => compact(c.avg_reel_views) },
      { label: 'Niche', render: (c) => {
        const input = nicheInput(c.niche, `Niche of @${c.username}`);
        const save = () => { if ((input.value.trim() || null) !== c.niche) setNiche([c.ig_user_id], input.value.trim() || null); };
        input.addEventListener('change', save);
        input.addEventListener('keydown', (e) => { if (e.key === 'Enter') input.blur(); });
        return input;
      } },
    ],
  });
  const bulkInput = nicheInput('', 'Niche for the selected creators');
  bulk.actions.append(field('Niche', bulkInput), button('Set niche', () => setNiche(table.selected(), bulkInput.value.trim() || null), { small: true, kind: 'primary' }),
    button('Clear niche', () => setNiche(table.selected(), null), { small: true }), button('Clear selection', () => table.clearSelection(), { small: true, kind: 'ghost' }));
  const pg = pager((p) => { st.page = p; load(); });

  async function setNiche(ids, niche) {
    try {
      const res = ids.length === 1 ? await put(`/creators/${encodeURIComponent(ids[0])}/niche`, { niche })
        : await post('/creators/niche', { ids, niche });
      toast(`${res.updated} creator${res.updated === 1 ? '' : 's'}: niche ${niche ? `set to ${niche}` : 'cleared'}`, 'ok');
      await load();
    } catch (e) { toast(e.message, 'error'); }
  }

  async function load() {
    const niched = st.tab === 'all' ? null : st.tab === 'niched';
    const res = await get('/creators', { review: 'ok', niched, q: st.q, sort: st.sort, order: st.order, page: st.page, per_page: 50 });
    for (const c of res.items) if (c.niche) known.add(c.niche);
    clear(list, [...known].sort().map((n) => h('option', { value: n })));
    table.setRows(res.items);
    pg.update(res);
  }
  clear(main, pageHeader('Niching', 'Give each approved creator a niche', button('Add creator', () => addCreatorDialog(), { kind: 'primary' })),
    list,
    tabs([{ id: 'all', label: 'All approved' }, { id: 'unniched', label: 'Without niche' }, { id: 'niched', label: 'With niche' }], st.tab, (id) => { st.tab = id; st.page = 1; load(); }, 'Niche status'),
    h('div.toolbar', searchBox('Search creators', '', (q) => { st.q = q; st.page = 1; load(); })),
    bulk.el, table.el, pg.el);
  // anyone's review (who is approved) or niche; not while a niche is being typed in the table
  const reload = throttle(() => { if (!table.el.contains(document.activeElement)) load().catch(() => {}); }, 3000);
  const offs = ['creator.reviewed', 'creator.niched'].map((t) => live.on(t, settled(reload)));
  await load();
  return { dispose() { offs.forEach((f) => f()); reload.cancel(); } };
}
