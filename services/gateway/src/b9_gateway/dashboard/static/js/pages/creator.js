// Creator detail: profile, follower-growth chart, review and niche, reels and posts with stored media.
import { h, clear, num, compact, pct, ago, toast, mediaUrl, throttle } from '../dom.js';
import { get, put, live, settled } from '../api.js';
import { pageHeader, statCards, button, badge, avatar } from '../ui.js';
import { lineChart } from '../charts.js';
import { mediaCard } from './reels.js';
import { historySection } from '../history.js';

export async function creatorDetailPage({ main, params: [key] }) {
  let d = await get(`/creators/${encodeURIComponent(key)}`, { media: 60 });
  const history = historySection('creator', d.creator.ig_user_id);

  const setReview = async (status) => {
    try {
      const res = await put(`/creators/${encodeURIComponent(d.creator.ig_user_id)}/review`, { review_status: status });
      d = await get(`/creators/${encodeURIComponent(key)}`, { media: 60 }); render(); history.reload();
      toast(res.stored ? 'Review saved' : 'Review sent: not stored yet, it appears on reload in a moment', res.stored ? 'ok' : 'info');
    } catch (e) { toast(e.message, 'error'); }
  };

  function render() {
    const c = d.creator;
    const hist = d.follower_history.map((x) => ({ x: new Date(x.at), y: x.followers_count }));
    const first = hist[0]?.y;
    const last = hist[hist.length - 1]?.y;
    const growth = first && last && hist.length > 1 ? (100 * (last - first)) / first : null;
    const stored = d.media.filter((m) => m.status === 'stored').length;
    clear(main,
      pageHeader(`@${c.username || c.ig_user_id}`, c.full_name || 'Instagram creator',
        c.review_status !== 'ok' ? button('Approve', () => setReview('ok'), { kind: 'primary' }) : null,
        c.review_status !== 'non_related' ? button('Not related', () => setReview('non_related')) : null,
        h('a.btn', { href: '#/instagram/review' }, 'All creators')),
      h('section.card.profile',
        avatar(mediaUrl(c.profile_pic_key), c.username, 'lg'),
        h('div', h('div.chips', badge(c.review_status === 'ok' ? 'approved' : c.review_status === 'non_related' ? 'not related' : 'pending review', c.review_status === 'ok' ? 'ok' : 'neutral'),
          c.niche ? badge(c.niche, 'info') : null, c.is_verified ? badge('verified', 'info') : null, c.is_private ? badge('private', 'warn') : null),
        h('p.bio', c.biography || ''), c.external_url ? h('div.muted.small', c.external_url) : null,
        h('div.muted.small', [c.discovered_at ? `Discovered ${ago(c.discovered_at)}` : null, c.discovery_source ? `source: ${c.discovery_source}` : null, `last scraped ${ago(c.last_scraped_at)}`].filter(Boolean).join(' · ')))),
      statCards([
        { id: 'followers', label: 'Followers', value: compact(c.followers_count), hint: growth === null ? null : `${growth >= 0 ? '+' : ''}${growth.toFixed(1)}% over ${hist.length} snapshots` },
        { label: 'Following', value: compact(c.following_count) },
        { label: 'Posts', value: num(c.media_count) },
        { label: 'Engagement', value: c.engagement_rate === null || c.engagement_rate === undefined ? '—' : pct(100 * c.engagement_rate, 2) },
        { label: 'Avg reel views', value: compact(c.avg_reel_views) },
        { id: 'stored', label: 'Stored media', value: `${stored} / ${d.media.length}` },
      ]),
      h('section.card#follower-chart', h('h2', 'Follower growth'), lineChart([{ name: 'Followers', points: hist }], { title: `Followers of @${c.username}`, width: 1100, height: 260 })),
      h('h2.section', `Reels (${d.reels.length})`), h('div.media-grid#creator-reels', d.reels.length ? d.reels.map(mediaCard) : h('p.muted', 'No reels stored.')),
      h('h2.section', `Posts (${d.posts.length})`), h('div.media-grid#creator-posts', d.posts.length ? d.posts.map(mediaCard) : h('p.muted', 'No posts stored.')),
      history);
  }
  render();
  const refresh = throttle(async () => { try { d = await get(`/creators/${encodeURIComponent(key)}`, { media: 60 }); render(); } catch { /* keep */ } }, 3000);
  const later = settled(refresh);
  const mine = (ev) => [d.creator.ig_user_id, d.creator.username].includes(ev.key?.ig_user_id || ev.key?.username) || ev.data?.owner === d.creator.ig_user_id;
  // its scrapes and media, and anyone's review or niche of it
  const offs = ['creator.scraped', 'media.stored', 'creator.reviewed', 'creator.niched'].map((t) => live.on(t, (ev) => { if (mine(ev)) later(); }));
  return { dispose() { offs.forEach((f) => f()); refresh.cancel(); } };
}
