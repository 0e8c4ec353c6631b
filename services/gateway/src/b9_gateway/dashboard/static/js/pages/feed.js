// One line of the live event feed.
import { h, stamp } from '../dom.js';
import { streamOf } from '../api.js';

export function describe(ev) {
  const k = ev.key || {};
  const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
  const who = k.username || k.name || k.target || k.ig_user_id || d.source_id || '';
  const bits = [];
  if (k.kind) bits.push(k.kind);
  if (k.outcome) bits.push(k.outcome);
  if (ev.type === 'posts.fetched' && Array.isArray(d.posts)) bits.push(`${d.posts.length} posts`);
  if (ev.type === 'creator.scraped' && d.followers_count !== undefined) bits.push(`${d.followers_count.toLocaleString('en-US')} followers`);
  if (ev.type === 'subreddit.categorized' && Array.isArray(d.tags)) bits.push(d.tags.join(', ') || 'no tags');
  if (ev.type.startsWith('dlq.') && d.reason) bits.push(d.reason);
  return { who, detail: bits.join(' · ') };
}

function linkFor(ev, who) {
  const k = ev.key || {};
  if (ev.type.startsWith('creator.') && (k.ig_user_id || k.username)) return `#/instagram/creators/${encodeURIComponent(k.ig_user_id || k.username)}`;
  if (ev.type.startsWith('subreddit.') && k.name) return `#/reddit/subreddits/${encodeURIComponent(k.name)}`;
  if (ev.type === 'user.fetched' && k.username) return `#/reddit/users/${encodeURIComponent(k.username)}`;
  if (ev.type.startsWith('dlq.')) return '#/admin/dlq';
  return who ? null : null;
}

export function feedItem(ev) {
  const { who, detail } = describe(ev);
  const stream = streamOf(ev.type);
  // The fact's own time when it has one (event time), else when this page got it (received).
  const clock = ev.occurred_at ? 'event' : 'received';
  const at = ev.occurred_at ? new Date(ev.occurred_at) : new Date();
  const href = linkFor(ev, who);
  const label = clock === 'event' ? 'event time (when it happened)' : 'received time (when this page got it)';
  return h('li.feed-item', { dataset: { type: ev.type } },
    h('time.mono.muted', { datetime: at.toISOString(), dataset: { clock }, title: `${label}: ${stamp(at.toISOString())}` },
      `${at.toISOString().slice(11, 19)}${clock === 'event' ? '' : ' (received)'}`),
    h(`span.etype.s-${stream.toLowerCase()}`, ev.type),
    href ? h('a.who', { href }, who) : h('span.who', who),
    detail ? h('span.muted.detail', detail) : null);
}
