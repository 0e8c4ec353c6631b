// The overview's live event feed: the card (filter, pause, counter, the newest lines) and one line.
//
// Lines are drawn at most every DRAW_MS (the first event after a quiet spell at once): at
// hundreds of events/s, drawing every frame kept the page's main thread busy with layout and
// paint, and the events of everything else on the page (another EventSource, clicks) waited.
import { h, num, stamp } from '../dom.js';
import { live, streamOf } from '../api.js';
import { button, select } from '../ui.js';

const FEED_MAX = 100; // lines kept
const DRAW_MS = 250; // at most one redraw of the lines per this many ms
const FLASH_MAX = 5; // events/s up to which a new line flashes (above: a constant flicker)
const FILTERS = [['', 'All events'], ['subreddit.', 'Subreddits'], ['creator.', 'Creators'],
  ['scrape.', 'Scrape attempts and commands'], ['media.', 'Media'], ['dlq.', 'Dead letters'], ['DECISIONS', 'Decisions']];

export function feedCard() {
  const list = h('ol.feed', { id: 'live-feed', 'aria-label': 'Live events', 'aria-live': 'off' },
    h('li.feed-empty.muted', 'Waiting for events…'));
  let filter = '';
  let paused = false;
  const filterSel = select('Show', FILTERS, '', (v) => { filter = v; });
  const pauseBtn = button('Pause', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
  }, { small: true, 'aria-pressed': 'false' });
  const counter = h('span.muted.small', { id: 'feed-count' }, '0 events');
  let seen = 0;
  let pending = []; // events to draw, oldest first (their data parsed only when drawn)
  let drawnAt = 0;
  let timer = null;
  let second = 0; // events/s: the count of the current one-second window
  let inSecond = 0;

  const draw = () => {
    timer = null;
    drawnAt = Date.now();
    counter.textContent = `${num(seen)} event${seen === 1 ? '' : 's'} since opened`;
    const flash = inSecond <= FLASH_MAX;
    const lines = pending.reverse().filter((ev) => ev.item).map((ev) => feedItem(ev.item, { flash }));
    pending = [];
    if (!lines.length) return;
    list.prepend(...lines);
    while (list.children.length > FEED_MAX) list.lastChild.remove();
    list.querySelector('.feed-empty')?.remove();
  };

  const off = live.onBatch('', (events) => {
    const now = Date.now();
    if (now - second >= 1000) { second = now; inSecond = 0; }
    inSecond += events.length;
    seen += events.length;
    for (const ev of events) {
      if (!paused && (!filter || ev.type.startsWith(filter) || filter === streamOf(ev.type))) pending.push(ev);
    }
    if (pending.length > FEED_MAX) pending = pending.slice(-FEED_MAX);
    if (timer) return;
    const wait = drawnAt + DRAW_MS - now;
    if (wait <= 0) draw(); else timer = setTimeout(draw, wait);
  });

  const card = h('section.card.feed-card', { 'aria-labelledby': 'feed-h' },
    h('div.card-head', h('h2#feed-h', 'Live events'), pauseBtn),
    h('div.feed-tools', filterSel, counter), list);
  return { card, dispose() { off(); clearTimeout(timer); } };
}

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

/** One line: the event's time, type and subject (a link to its page when it has one). */
export function feedItem(ev, { flash = true } = {}) {
  const { who, detail } = describe(ev);
  const stream = streamOf(ev.type);
  // The fact's own time when it has one (event time), else when this page got it (received).
  const clock = ev.occurred_at ? 'event' : 'received';
  const at = ev.occurred_at ? new Date(ev.occurred_at) : new Date();
  const href = linkFor(ev, who);
  const label = clock === 'event' ? 'event time (when it happened)' : 'received time (when this page got it)';
  return h('li.feed-item', { class: flash ? 'flash' : null, dataset: { type: ev.type } },
    h('time.mono.muted', { datetime: at.toISOString(), dataset: { clock }, title: `${label}: ${stamp(at.toISOString())}` },
      `${at.toISOString().slice(11, 19)}${clock === 'event' ? '' : ' (received)'}`),
    h(`span.etype.s-${stream.toLowerCase()}`, ev.type),
    href ? h('a.who', { href }, who) : h('span.who', who),
    detail ? h('span.muted.detail', detail) : null);
}
