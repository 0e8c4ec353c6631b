// The live SSE feed (/api/v1/events): one EventSource for the whole app, events handed to the
// pages in batches, once per animation frame.
//
// The EventSource handler only queues the raw event: no JSON parsing, no page code, no DOM. At a
// few thousand events/s, running the pages' handlers (feed lines, counters, re-read timers) for
// each event kept the main thread busy, and every other task of the page -- another EventSource,
// a click -- waited behind them (seconds, measured by bench/bench_freshness.py). A flush runs once
// per frame (or 100 ms when the tab is hidden and frames stop), parses an event only when a
// handler that wants its type needs its data, and hands batch handlers the whole batch.
import { api } from './api.js';

// Mirror of b9_common.events.catalogue: event type -> stream (SSE event names are the types).
export const EVENT_STREAMS = {
  'subreddit.fetched': 'SCRAPE', 'posts.fetched': 'SCRAPE', 'user.fetched': 'SCRAPE',
  'subreddit.discovered': 'SCRAPE', 'creator.scraped': 'SCRAPE', 'creator.discovered': 'SCRAPE',
  'creator.related_processed': 'SCRAPE', 'scrape.attempted': 'SCRAPE',
  'subreddit.categorized': 'DERIVED', 'creator.categorized': 'DERIVED',
  'media.stored': 'DERIVED', 'media.failed': 'DERIVED',
  'notification.created': 'DERIVED', 'webhook.delivered': 'DERIVED', 'webhook.failed': 'DERIVED',
  'notifications.read': 'DECISIONS',  // a person's read mark: their bell drops on every browser
  'scrape.requested.reddit': 'COMMANDS', 'scrape.requested.instagram': 'COMMANDS',
  'categorize.requested': 'COMMANDS', 'media.requested': 'COMMANDS',
  // people's decisions (anyone's: another reviewer's approval changes this page's counts too)
  'subreddit.reviewed': 'DECISIONS', 'subreddit.tagged': 'DECISIONS', 'user.marked_ours': 'DECISIONS',
  'model.account_linked': 'DECISIONS', 'model.account_unlinked': 'DECISIONS', 'creator.reviewed': 'DECISIONS',
  'creator.niched': 'DECISIONS', 'model.created': 'DECISIONS', 'model.updated': 'DECISIONS',
  'model.deleted': 'DECISIONS', 'alert_rule.created': 'DECISIONS', 'alert_rule.updated': 'DECISIONS',
  'alert_rule.deleted': 'DECISIONS',
};

// The gateway's own events (not on JetStream, not in the event feed): KV changes and replays.
export const LOCAL_EVENTS = ['control.changed', 'heartbeat', 'replay.progress', 'request.changed'];

export function streamOf(type) {
  return type.startsWith('dlq.') ? 'DLQ' : (EVENT_STREAMS[type] || 'OTHER');
}

const HIDDEN_FLUSH_MS = 100;

/** A queued event: its type at once, its parsed data (`item`, null if unreadable) when asked. */
class Queued {
  constructor(type, raw) { this.type = type; this.raw = raw; this.parsed = undefined; }

  get item() {
    if (this.parsed === undefined) {
      try { this.parsed = JSON.parse(this.raw); } catch { this.parsed = null; }
      this.raw = null;
    }
    return this.parsed;
  }
}

/** One EventSource for the whole app; pages subscribe with live.on(prefix, fn) or live.onBatch. */
class LiveFeed {
  constructor() {
    this.source = null;
    this.handlers = new Set();
    this.localHandlers = new Set();
    this.stateHandlers = new Set();
    this.state = 'off';
    this.errors = 0;
    this.queue = [];
    this.scheduled = false;
    this.flush = this.flush.bind(this);
  }

  start() {
    if (this.source) return;
    const src = new EventSource('/api/v1/events', { withCredentials: true });
    this.source = src;
    this.setState('connecting');
    const deliver = (e) => {
      this.errors = 0;
      this.queue.push(new Queued(e.type, e.data));
      if (!this.scheduled) this.schedule();
    };
    const names = Object.keys(EVENT_STREAMS);
    for (const t of [...names, ...names.map((n) => `dlq.${n}`)]) src.addEventListener(t, deliver);
    const deliverLocal = (e) => {
      let item;
      try { item = JSON.parse(e.data); } catch { return; }
      for (const h of this.localHandlers) {
        if (h.type === e.type) {
          try { h.fn(item); } catch (err) { console.error(err); }
        }
      }
    };
    for (const t of LOCAL_EVENTS) src.addEventListener(t, deliverLocal);
    src.addEventListener('ready', () => { this.errors = 0; this.setState('live'); });
    src.addEventListener('dropped', (e) => {
      const n = JSON.parse(e.data).dropped;
      for (const h of this.stateHandlers) h(this.state, { dropped: n });
    });
    src.onerror = () => {
      this.errors += 1;
      this.setState(src.readyState === EventSource.CLOSED ? 'off' : 'reconnecting');
      if (this.errors >= 3 || src.readyState === EventSource.CLOSED) {
        // Maybe the session ended (logout elsewhere, account disabled, key rotated: the server
        // ends the feed and refuses the reconnect): ask the API (a 401 sends us to sign in).
        api('/session').catch(() => {});
      }
    };
  }

  schedule() {
    this.scheduled = true;
    // Frames stop in a hidden tab: a timer there (browsers run it at most once a second).
    if (document.hidden) setTimeout(this.flush, HIDDEN_FLUSH_MS);
    else requestAnimationFrame(this.flush);
  }

  flush() {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    for (const h of [...this.handlers]) {
      if (!this.handlers.has(h)) continue; // unsubscribed by an earlier handler of this flush
      const mine = h.prefix ? batch.filter((q) => q.type.startsWith(h.prefix)) : batch;
      if (!mine.length) continue;
      try {
        if (h.batch) h.fn(mine);
        else for (const q of mine) if (q.item) h.fn(q.item);
      } catch (err) { console.error(err); }
    }
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
    this.queue = [];
    this.setState('off');
  }

  setState(s) {
    this.state = s;
    for (const h of this.stateHandlers) h(s, {});
  }

  /** Subscribe to events whose type starts with prefix ('' = all): fn(item) for each, in order,
   * at the next frame. Returns an unsubscribe fn. */
  on(prefix, fn) {
    const entry = { prefix, fn, batch: false };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  /** Like on(), but fn(events) once per frame with that frame's events (oldest first), each
   * `{type, item}`: `item` (the parsed data, null if unreadable) is parsed when first read, so
   * a handler that only counts types parses nothing. Returns an unsubscribe fn. */
  onBatch(prefix, fn) {
    const entry = { prefix, fn, batch: true };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  /** Subscribe to one of the gateway's LOCAL_EVENTS (exact type). Returns an unsubscribe fn. */
  onLocal(type, fn) {
    const entry = { type, fn };
    this.localHandlers.add(entry);
    return () => this.localHandlers.delete(entry);
  }

  onState(fn) {
    this.stateHandlers.add(fn);
    fn(this.state, {});
    return () => this.stateHandlers.delete(fn);
  }
}

export const live = new LiveFeed();

/**
 * An SSE event says a fact was published; the persistence service writes it to the read model
 * a moment later (usually well under a second, several seconds on a loaded machine).
 * settled(fn) re-reads soon after the event and again at growing intervals (0.6, 2.5, 6 and
 * 12 s after it), so a slow write still shows without a reload. Events close together share
 * their re-reads: at most one timer per interval is pending, and when it fires after events
 * newer than the one that set it, it is set again for the newest (so a steady stream of events
 * re-reads about once per interval, and the last event still gets all four). fn should be
 * throttled (see dom.throttle) so the four intervals' reads coalesce too.
 */
export const SETTLE_MS = [600, 2500, 6000, 12000];
export function settled(fn) {
  const due = SETTLE_MS.map(() => 0); // when the newest event wants this interval's re-read
  const timers = SETTLE_MS.map(() => null);
  const fire = (i) => {
    timers[i] = null;
    fn();
    const wait = due[i] - Date.now();
    if (wait > 0) timers[i] = setTimeout(() => fire(i), wait);
  };
  return () => {
    const now = Date.now();
    SETTLE_MS.forEach((ms, i) => {
      due[i] = now + ms;
      if (timers[i] === null) timers[i] = setTimeout(() => fire(i), ms);
    });
  };
}
