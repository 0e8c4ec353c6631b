// Post analysis: viral posts grid (top N per Ok subreddit in a window), best subreddits,
// best posting hour (UTC) with a by-hour chart.
import { h, clear, num, ago } from '../dom.js';
import { get } from '../api.js';
import { pageHeader, statCards, select, searchBox, toggle, pager, badge } from '../ui.js';
import { barChart } from '../charts.js';
import { taxonomy } from './categorization.js';

export async function postsPage({ main }) {
  const tax = await taxonomy();
  const st = { hours: 72, q: '', sfw: false, category: '', sort: 'score', page: 1 };
  const statsBox = h('div');
  // The standard windows are read from a snapshot persistence refreshes every few minutes: say when it was taken.
  const asOfBox = h('p.muted.small', { id: 'viral-as-of' });
  const chartBox = h('div');
  const grid = h('div.grid-3', { id: 'viral-grid' });
  const pg = pager((p) => { st.page = p; loadPosts(); });

  const filters = () => ({ hours: st.hours, sfw: st.sfw ? true : null, category: st.category || null });

  async function loadStats() {
    const s = await get('/posts/viral/stats', filters());
    const hourLabel = (hr) => (hr === null || hr === undefined ? '—' : `${String(hr).padStart(2, '0')}:00 UTC`);
    clear(statsBox, statCards([
      { id: 'total', label: 'Viral posts', value: num(s.total_posts), hint: `last ${st.hours} h` },
      { id: 'best-avg', label: 'Best subreddit (avg score)', value: s.best_subreddit_by_avg_score ? `r/${s.best_subreddit_by_avg_score.subreddit}` : '—', hint: s.best_subreddit_by_avg_score ? `${num(s.best_subreddit_by_avg_score.avg_score)} avg` : null },
      { id: 'best-comments', label: 'Best subreddit (comments)', value: s.best_subreddit_by_comments ? `r/${s.best_subreddit_by_comments.subreddit}` : '—', hint: s.best_subreddit_by_comments ? `${num(s.best_subreddit_by_comments.comments)} comments` : null },
      { id: 'best-hour', label: 'Best posting hour', value: hourLabel(s.best_hour), hint: 'highest mean score' },
    ]));
    clear(asOfBox, s.as_of ? `As of ${new Date(s.as_of).toISOString().slice(11, 16)} UTC (${ago(s.as_of)}): refreshed every few minutes` : 'Computed live');
    const byHour = new Map(s.by_hour.map((x) => [x.hour, x]));
    clear(chartBox, barChart(Array.from({ length: 24 }, (_, hr) => ({ label: String(hr).padStart(2, '0'), value: byHour.get(hr)?.avg_score || 0, highlight: hr === s.best_hour })), { title: 'Mean score by posting hour (UTC)', width: 1100, height: 220 }));
  }

  async function loadPosts() {
    const res = await get('/posts/viral', { ...filters(), q: st.q, sort: st.sort, page: st.page, per_page: 24 });
    clear(grid, res.items.length ? res.items.map((p) => h('article.card.post', { dataset: { post: p.reddit_id } },
      h('div.card-head', h('a', { href: `#/reddit/subreddits/${encodeURIComponent(p.subreddit)}` }, `r/${p.subreddit}`), badge(`#${p.rank}`, 'info'), p.over_18 ? badge('NSFW', 'warn') : null),
      h('h3.post-title', p.title),
      h('div.metrics', h('span', `${num(p.score)} points`), h('span', `${num(p.num_comments)} comments`), h('span', p.content_type), h('span', `${String(p.posting_hour).padStart(2, '0')}:00 UTC`)),
      h('div.muted.small', p.author ? h('a', { href: `#/reddit/users/${encodeURIComponent(p.author)}` }, `u/${p.author}`) : 'unknown author', ` · ${ago(p.created_utc)}`)))
      : h('p.muted', 'No viral posts in this window.'));
    pg.update(res);
  }

  const reload = () => { st.page = 1; loadStats(); loadPosts(); };
  clear(main,
    pageHeader('Post analysis', 'What performs in our Ok subreddits right now'),
    h('div.toolbar',
      select('Window', [['24', 'Last 24 hours'], ['72', 'Last 72 hours'], ['168', 'Last 7 days'], ['720', 'Last 30 days']], String(st.hours), (v) => { st.hours = Number(v); reload(); }),
      select('Category', [['', 'All categories'], ...Object.keys(tax.categories).map((c) => [c, c])], '', (v) => { st.category = v; reload(); }),
      searchBox('Search titles', '', (q) => { st.q = q; st.page = 1; loadPosts(); }),
      select('Sort by', [['score', 'Score'], ['comments', 'Comments'], ['recent', 'Most recent'], ['ratio', 'Upvote ratio']], st.sort, (v) => { st.sort = v; st.page = 1; loadPosts(); }),
      toggle('SFW only', false, (v) => { st.sfw = v; reload(); })),
    asOfBox,
    statsBox,
    h('section.card', h('h2', 'Mean score by posting hour'), chartBox),
    h('h2.section', 'Viral posts'), grid, pg.el);
  await Promise.all([loadStats(), loadPosts()]);
}
