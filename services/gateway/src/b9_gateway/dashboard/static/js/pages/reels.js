// Reels: cards with the stored thumbnails / videos (served from /media/...), search and sorts.
import { h, clear, num, compact, pct, ago, throttle } from '../dom.js';
import { get, live, settled } from '../api.js';
import { mediaUrl } from '../dom.js';
import { pageHeader, statCards, select, searchBox, pager } from '../ui.js';

export function mediaCard(m) {
  const thumb = mediaUrl(m.thumbnail_key);
  const video = mediaUrl(m.video_key);
  const label = `${m.kind} by @${m.username || m.ig_user_id}${m.caption ? `: ${m.caption}` : ''}`;
  const visual = video
    ? h('video', { src: video, poster: thumb || undefined, controls: true, preload: 'none', 'aria-label': label })
    : thumb ? h('img', { src: thumb, alt: label, loading: 'lazy' }) : h('span', 'not stored yet');
  return h('article.media-card', { dataset: { media: m.media_pk, stored: String(!!(thumb || video)) } },
    h('div.thumb', visual),
    h('div.meta',
      h('div.caption', { title: m.caption || '' }, m.caption || h('span.muted', 'No caption')),
      h('div.metrics', m.kind === 'reel' ? h('span', `${compact(m.play_count)} views`) : null, h('span', `${compact(m.like_count)} likes`), h('span', `${compact(m.comment_count)} comments`)),
      h('div.muted', m.username ? h('a', { href: `#/instagram/creators/${encodeURIComponent(m.ig_user_id)}` }, `@${m.username}`) : null, ` · ${ago(m.taken_at)} · ${pct(100 * (m.engagement_rate || 0), 1)} eng.`)));
}

export async function reelsPage({ main }) {
  const st = { sort: 'views', q: '', niche: '', page: 1 };
  const grid = h('div.media-grid', { id: 'reels' });
  const statsBox = h('div');
  const pg = pager((p) => { st.page = p; load(); });
  async function load() {
    const res = await get('/reels', { review: 'ok', sort: st.sort, q: st.q, niche: st.niche || null, page: st.page, per_page: 36 });
    clear(grid, res.items.length ? res.items.map(mediaCard) : h('p.muted', 'No reels match.'));
    const views = res.items.reduce((a, m) => a + m.play_count, 0);
    clear(statsBox, statCards([
      { label: 'Reels', value: num(res.total) },
      { label: 'Views on this page', value: compact(views) },
      { label: 'Avg likes on this page', value: compact(res.items.length ? res.items.reduce((a, m) => a + m.like_count, 0) / res.items.length : null) },
      { label: 'Stored thumbnails', value: `${res.items.filter((m) => m.thumbnail_key).length} / ${res.items.length}`, hint: 'on this page' },
    ]));
    pg.update(res);
  }
  const reload = throttle(() => load().catch(() => {}), 4000);
  // approved creators only: anyone's review changes which reels are listed
  const offs = ['media.stored', 'creator.scraped', 'creator.reviewed'].map((t) => live.on(t, settled(reload)));
  clear(main, pageHeader('Reels', 'What our tracked (approved) creators post, with stored media'),
    h('div.toolbar', searchBox('Search captions', '', (q) => { st.q = q; st.page = 1; load(); }),
      select('Sort by', [['views', 'Most views'], ['recent', 'Most recent'], ['likes', 'Most liked'], ['engagement', 'Engagement'], ['comments', 'Most comments']], st.sort, (v) => { st.sort = v; st.page = 1; load(); })),
    statsBox, grid, pg.el);
  await load();
  return { dispose() { offs.forEach((f) => f()); reload.cancel(); } };
}
