// Insights: rising subreddits (growth over 7 / 30 days, with a sparkline) and creator authenticity
// (each signal with its explanation; the score is only the sum of those signals).
import { h, clear, num, pct, day } from '../dom.js';
import { get } from '../api.js';
import { pageHeader, dataTable, badge, tabs, pager } from '../ui.js';

function sparkline(values) {
  if (!values || values.length < 2) return h('span.muted', '–');
  const W = 120; const H = 28; const lo = Math.min(...values); const hi = Math.max(...values); const span = hi - lo || 1;
  const pts = values.map((v, i) => `${(i / (values.length - 1)) * W},${H - ((v - lo) / span) * (H - 4) - 2}`).join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('width', W); svg.setAttribute('height', H);
  svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', `from ${num(values[0])} to ${num(values[values.length - 1])}`);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', pts); line.setAttribute('fill', 'none'); line.setAttribute('stroke', 'currentColor'); line.setAttribute('stroke-width', '2');
  svg.append(line);
  return h('span.spark', svg);
}

export async function risingPage({ main }) {
  let days = '7'; let sort = 'growth_pct'; let page = 1;
  const table = dataTable({
    caption: 'Rising subreddits', key: (r) => r.subreddit, empty: 'No subreddit has enough history in this window yet.',
    sort: { sort, order: 'desc' }, onSort: (s) => { sort = s; page = 1; load(); },
    cols: [
      { label: 'Subreddit', render: (r) => h('a.cell-title', { href: `#/reddit/subreddits/${r.subreddit}` }, `r/${r.subreddit}`) },
      { label: 'Subscribers', class: 'num', sort: 'subscribers', render: (r) => num(r.end_subscribers) },
      { label: 'Growth', class: 'num', sort: 'growth', render: (r) => (r.growth >= 0 ? '+' : '') + num(r.growth) },
      { label: 'Growth %', class: 'num', sort: 'growth_pct', render: (r) => r.growth_pct === null ? "–" : pct(r.growth_pct * 100) },
      { label: 'Activity %', class: 'num', sort: 'active_growth_pct', render: (r) => r.active_growth_pct === null ? "–" : pct(r.active_growth_pct * 100) },
      { label: 'Trend', render: (r) => sparkline(r.sparkline) },
      { label: 'Since', render: (r) => `${day(r.since)} (${num(r.points)} points)` },
    ],
  });
  const pg = pager((p) => { page = p; load(); });
  async function load() {
    const res = await get('/insights/rising-subreddits', { days, sort, page, per_page: 50 });
    table.setRows(res.items); pg.update(res);
  }
  const windowTabs = tabs([{ id: '7', label: '7 days' }, { id: '30', label: '30 days' }], days, (d) => { days = d; page = 1; load(); }, 'Window');
  clear(main, pageHeader('Rising subreddits', 'Subscriber and activity growth from each subreddit\'s own snapshots'), windowTabs, table.el, pg.el);
  await load();
}

export async function authenticityPage({ main }) {
  let page = 1;
  const table = dataTable({
    caption: 'Creator authenticity', key: (c) => c.ig_user_id, empty: 'No creator shows a signal.',
    cols: [
      { label: 'Creator', render: (c) => h('a.cell-title', { href: `#/instagram/creators/${c.ig_user_id}` }, `@${c.username || c.ig_user_id}`) },
      { label: 'Followers', class: 'num', render: (c) => num(c.followers_count) },
      { label: 'Score', class: 'num', render: (c) => badge(String(c.score), c.score >= 50 ? 'error' : 'warn') },
      { label: 'Why', render: (c) => h('ul.signals', c.signals.map((s) => h('li', h('strong', s.signal.replaceAll('_', ' ')), ': ', s.explanation))) },
    ],
  });
  const pg = pager((p) => { page = p; load(); });
  const legend = h('p.muted.small');
  async function load() {
    const res = await get('/insights/creator-authenticity', { page, per_page: 50 });
    table.setRows(res.items); pg.update(res);
    legend.textContent = `Thresholds (control bucket key insights.authenticity): ${Object.entries(res.thresholds).map(([k, v]) => `${k} ${v}`).join(', ')}`;
  }
  clear(main, pageHeader('Creator authenticity', 'Signals that followers or engagement do not behave like real ones, each explained'), legend, table.el, pg.el);
  await load();
}
