// The gateway API (/api/v1, session cookie); the live SSE feed (live.js) is re-exported here.

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

// The live feed lives in live.js; pages import it from here as before.
export { EVENT_STREAMS, LOCAL_EVENTS, streamOf, live, settled, SETTLE_MS } from './live.js';

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
