// The gateway API (/api/v1, session cookie) and the live SSE feed (/api/v1/events).

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// The signed-in person's role: a viewer's changes are refused here already (the API refuses
// them too, 403), with the same kind of message.
let role = null;
export function setRole(r) { role = r; }
const OPEN_WRITES = ['/login', '/logout'];

function qs(query) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function messageOf(status, body) {
  if (body && typeof body.error === 'string') return body.error;
  if (body && typeof body.detail === 'string') return body.detail;
  if (body && Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join('; ');
  return `request failed (HTTP ${status})`;
}

export async function api(path, { method = 'GET', body, query, quiet401 = false } = {}) {
  if (role === 'viewer' && method !== 'GET' && !OPEN_WRITES.includes(path)) {
    throw new ApiError(403, 'Your role (viewer) can only look: changes need the reviewer role.', null);
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(`/api/v1${path}${qs(query)}`, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(res.status, messageOf(res.status, data), data);
  }
  return data;
}

export const get = (path, query) => api(path, { query });
export const post = (path, body) => api(path, { method: 'POST', body });
export const put = (path, body) => api(path, { method: 'PUT', body });
export const patch = (path, body) => api(path, { method: 'PATCH', body });
export const del = (path) => api(path, { method: 'DELETE' });

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

/** One EventSource for the whole app; pages subscribe with live.on(prefix, fn). */
class LiveFeed {
  constructor() {
    this.source = null;
    this.handlers = new Set();
    this.localHandlers = new Set();
    this.stateHandlers = new Set();
    this.state = 'off';
    this.errors = 0;
  }

  start() {
    if (this.source) return;
    const src = new EventSource('/api/v1/events', { withCredentials: true });
    this.source = src;
    this.setState('connecting');
    const deliver = (e) => {
      let item;
      try { item = JSON.parse(e.data); } catch { return; }
      this.errors = 0;
      for (const h of this.handlers) {
        if (!h.prefix || item.type.startsWith(h.prefix)) {
          try { h.fn(item); } catch (err) { console.error(err); }
        }
      }
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

  stop() {
    if (this.source) this.source.close();
    this.source = null;
    this.setState('off');
  }

  setState(s) {
    this.state = s;
    for (const h of this.stateHandlers) h(s, {});
  }

  /** Subscribe to events whose type starts with prefix ('' = all). Returns an unsubscribe fn. */
  on(prefix, fn) {
    const entry = { prefix, fn };
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
 * 12 s after it), so a slow write still shows without a reload. fn should be throttled
 * (see dom.throttle) so bursts of events coalesce into a few reads.
 */
export const SETTLE_MS = [600, 2500, 6000, 12000];
export function settled(fn) {
  return () => {
    for (const ms of SETTLE_MS) setTimeout(fn, ms);
  };
}

/**
 * The overview's counts are cached by the gateway for a few seconds, so a re-read soon after
 * this page's own action can still show the counts from before it (the page moved them at
 * once). counts.acted() when an action of this page was stored; counts.fresh(ov) is false for an
 * overview generated before that (for 15 s at most: the browser's and the server's clocks may
 * differ). Another person's decision never marks the page, so it always takes the re-read counts.
 */
export function countsGuard() {
  let actedAt = 0;
  return {
    acted() { actedAt = Date.now(); },
    fresh(ov) { return !actedAt || Date.now() - actedAt > 15000 || (ov && ov.generated_at * 1000 >= actedAt); },
  };
}
