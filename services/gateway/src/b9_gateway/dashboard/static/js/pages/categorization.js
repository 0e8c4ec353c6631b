// Categorization: tags per Ok subreddit, manual edit (single and bulk), AI categorize with
// progress (counted from subreddit.categorized events on the live feed).
import { h, clear, num, pct, ago, throttle, toast } from '../dom.js';
import { get, post, put, live, settled } from '../api.js';
import { followRequest } from '../requests.js';
import { pageHeader, statCards, tabs, searchBox, dataTable, bulkBar, pager, button, progress, field, dialog } from '../ui.js';
import { subName } from './subreddits.js';

let taxonomyCache = null;
export async function taxonomy() {
  if (!taxonomyCache) taxonomyCache = await get('/categorization/tags');
  return taxonomyCache;
}

/** <select> of every tag grouped by category. */
export function tagSelect(tax, placeholder = 'Choose a tag…') {
  return h('select', {}, h('option', { value: '' }, placeholder),
    Object.entries(tax.categories).map(([cat, values]) => h('optgroup', { label: cat }, values.map((v) => h('option', { value: `${cat}:${v}` }, `${cat}: ${v.replace(/_/g, ' ')}`)))));
}

export async function categorizationPage({ main }) {
  const st = { tab: 'all', q: '', page: 1 };
  // The stats and the first page are asked for at once (with the taxonomy), not one after the other.
  const statsFirst = get('/categorization/stats');
  const first = fetchPage();
  first.catch(() => {}); // awaited below; not "unhandled" if the stats fail first
  const tax = await taxonomy();
  let stats = await statsFirst;
  const statsBox = h('div');
  const topBox = h('div.chips');
  const job = { total: 0, done: 0, el: h('div#ai-progress', { hidden: true }) };

  const renderStats = () => {
    clear(statsBox, statCards([
      { id: 'ok', label: 'Ok subreddits', value: num(stats.total_approved_subreddits) },
      { id: 'tagged', label: 'Tagged', value: num(stats.total_tagged), hint: `${num(stats.manual_tagged)} by hand` },
      { id: 'untagged', label: 'Untagged', value: num(stats.untagged_remaining) },
      { id: 'progress', label: 'Progress', value: pct(stats.tagging_progress_percent), hint: progress(stats.total_tagged, stats.total_approved_subreddits, 'Tagging progress') },
      { id: 'cost', label: 'AI cost (all time)', value: `$${stats.cost_usd_total.toFixed(4)}`, hint: `last run ${ago(stats.last_categorized_at)}` },
    ]));
    clear(topBox, stats.top_tags.length ? stats.top_tags.map((t) => h('span.tag', `${t.tag} · ${t.count}`)) : h('span.muted', 'No tags yet.'));
  };

  const tagCell = (s) => h('div.chips', (s.tags || []).map((t) => h('span.tag', t, h('button', { type: 'button', 'aria-label': `Remove ${t} from r/${s.name}`, onclick: () => setTags(s, s.tags.filter((x) => x !== t)) }, '×'))),
    button('+ Tag', () => addTagDialog(s), { small: true, kind: 'ghost', 'aria-label': `Add a tag to r/${s.name}` }));

  const bulk = bulkBar('Bulk tagging');
  const table = dataTable({
    caption: 'Ok subreddits and their tags', selectable: true, key: (s) => s.name, onSelect: (sel) => bulk.update(sel.size),
    empty: 'No Ok subreddits here. Review subreddits first.',
    cols: [
      { label: 'Subreddit', render: subName },
      { label: 'Primary', render: (s) => s.primary_category || '—' },
      { label: 'Tags', render: tagCell },
    ],
  });
  const bulkTag = tagSelect(tax);
  bulk.actions.append(field('Tag', bulkTag),
    button('Add to selected', () => bulkTags('add'), { small: true, kind: 'primary' }),
    button('Remove from selected', () => bulkTags('remove'), { small: true }),
    button('Clear selection', () => table.clearSelection(), { small: true, kind: 'ghost' }));
  const pg = pager((p) => { st.page = p; load(); });

  async function setTags(s, tags) {
    try {
      await put(`/subreddits/${encodeURIComponent(s.name)}/tags`, { tags });
      s.tags = tags;
      table.setRows(table.rows());
      refreshStats();
    } catch (e) { toast(e.message, 'error'); }
  }

  function addTagDialog(s) {
    const sel = tagSelect(tax);
    const dlg = dialog(`Add a tag to r/${s.name}`, field('Tag', sel),
      [button('Cancel', () => dlg.close()), button('Add tag', () => { if (sel.value) setTags(s, [...new Set([...(s.tags || []), sel.value])]); dlg.close(); }, { kind: 'primary' })]);
    sel.focus();
  }

  async function bulkTags(mode) {
    const names = table.selected();
    if (!bulkTag.value) { toast('Choose a tag first', 'error'); bulkTag.focus(); return; }
    try {
      const res = await post('/subreddits/tags', { names, [mode]: [bulkTag.value] });
      toast(`${mode === 'add' ? 'Tagged' : 'Untagged'} ${res.updated} subreddits with ${bulkTag.value}`, 'ok');
      table.clearSelection();
      await load();
      refreshStats();
    } catch (e) { toast(e.message, 'error'); }
  }

  function fetchPage() {
    const tagged = st.tab === 'all' ? null : st.tab === 'tagged';
    return get('/subreddits', { review: 'Ok', tagged, q: st.q, sort: 'score', page: st.page, per_page: 50 });
  }
  function show(res) {
    table.setRows(res.items);
    pg.update(res);
  }
  async function load() { show(await fetchPage()); }

  const refreshStats = throttle(async () => { stats = await get('/categorization/stats'); renderStats(); }, 1500);
  const reloadList = throttle(() => load().catch(() => {}), 3000);

  const renderJob = () => {
    job.el.hidden = job.total === 0;
    clear(job.el, h('div.card-head', h('strong', job.done >= job.total ? 'AI categorization finished' : 'AI categorization running…'), h('span.muted', `${num(job.done)} of ${num(job.total)} subreddits`)),
      progress(job.done, job.total, 'AI categorization progress'));
  };

  async function startAi() {
    try {
      const res = await post('/categorization/start', { kind: 'subreddit', limit: 50 });
      job.total = res.items; job.done = 0; renderJob();
      followRequest(res, `AI categorize (${res.items} subreddits):`, { onDone: () => { job.done = job.total; renderJob(); refreshStats(); reloadList(); } });
    } catch (e) { toast(e.status === 409 ? 'Every Ok subreddit already has tags.' : e.message, e.status === 409 ? 'info' : 'error'); }
  }

  const later = settled(() => { refreshStats(); reloadList(); });
  const off = live.on('subreddit.categorized', () => {
    if (job.total) { job.done = Math.min(job.total, job.done + 1); renderJob(); }
    later();
  });

  const tabBar = tabs([{ id: 'all', label: 'All Ok' }, { id: 'untagged', label: 'Untagged' }, { id: 'tagged', label: 'Tagged' }], st.tab, (id) => { st.tab = id; st.page = 1; load(); }, 'Tagging status');
  clear(main,
    pageHeader('Categorization', 'Tags decide which subreddits each model is recommended', button('AI categorize', startAi, { kind: 'primary' })),
    statsBox, h('section.card', job.el), h('section.card', h('h2', 'Top tags'), topBox),
    tabBar, h('div.toolbar', searchBox('Search subreddits', '', (q) => { st.q = q; st.page = 1; load(); })),
    bulk.el, table.el, pg.el);
  job.el.parentElement.hidden = true;
  const obs = new MutationObserver(() => { job.el.parentElement.hidden = job.el.hidden; });
  obs.observe(job.el, { attributes: true, attributeFilter: ['hidden'] });
  renderStats();
  show(await first);
  // anyone's tags or reviews (the list is the Ok subreddits)
  const offDecisions = ['subreddit.tagged', 'subreddit.reviewed'].map((t) => live.on(t, later));
  return { dispose() { off(); offDecisions.forEach((f) => f()); obs.disconnect(); refreshStats.cancel(); reloadList.cancel(); } };
}
