// Requests you can follow (#18): the toast of an accepted action (202 with request_id) shows the
// request's live status -- queued, running, then done with a link to the result, or failed with
// the reason -- from the live feed's `request.changed`, and from GET /requests/{id} now and then
// (the feed may be off, or the change may have come before we listened).
import { h, clear } from './dom.js';
import { get, live } from './api.js';

const POLL_MS = 2000;
const KEEP_MS = { done: 10000, failed: 30000 };
const REASONS = {
  connection: 'cannot reach the upstream', timeout: 'the upstream did not answer in time',
  http_status: 'the upstream answered with an error', not_found: 'not found', private: 'private',
  banned: 'banned', not_configured: 'not configured', budget_exhausted: 'waiting for the request budget',
  invalid_response: 'the upstream answered something unreadable', disabled: 'the scraper is stopped',
  interrupted: 'the scraper was stopped mid-way', dead_lettered: 'the command could not be run (dead-lettered)',
};

function summary(r) {
  const res = r.result || {};
  if (r.kind === 'categorize') {
    const how = res.method === 'rules' ? 'the rule-based classifier (no OpenAI key)' : `${res.method || 'the model'} ${res.model || ''}`.trim();
    return `${res.tagged || 0} tagged, ${res.unchanged || 0} unchanged${res.failed ? `, ${res.failed} failed` : ''} by ${how}`;
  }
  if (r.kind === 'related') return `${res.sources || 0} creators processed, ${res.new || 0} new found`;
  if (r.kind === 'media') return Object.entries(res).filter(([k]) => k !== 'page').map(([k, v]) => `${v} ${k}`).join(', ');
  return '';
}

function statusLine(r) {
  if (r.status === 'done') return 'done';
  if (r.status === 'failed') return `failed: ${r.message || REASONS[r.reason] || r.reason || 'unknown reason'}`;
  if (r.status === 'running') return r.parts ? `running (${r.parts_done || 0} of ${r.parts} parts)` : 'running…';
  const wait = r.reason ? ` (${r.message || REASONS[r.reason] || r.reason})` : '';
  const at = r.estimated_start ? `, next try ${new Date(r.estimated_start).toLocaleTimeString()}` : '';
  const line = r.commands_waiting > 1 ? `, ${r.commands_waiting} requests of this kind waiting` : '';
  return `queued${wait}${line}${at}`;
}

/**
 * Follow a 202 answer: `what` names the action ("r/pics"). Returns the toast element; it ends
 * (and goes away after a while) when the request is done or failed.
 */
export function followRequest(answer, what, { onDone = null } = {}) {
  const box = document.getElementById('toasts');
  const id = answer && answer.request_id;
  const el = h('div.toast.info.request', { role: 'status', 'aria-live': 'polite', dataset: { request: id || '' } });
  box.append(el);
  let last = null;
  let finished = false;
  let off = () => {};
  let timer = null;
  const close = () => { off(); clearInterval(timer); el.remove(); };
  const render = (r) => {
    const kind = r.status === 'done' ? 'ok' : r.status === 'failed' ? 'error' : 'info';
    el.className = `toast ${kind} request`;
    el.dataset.status = r.status;
    const page = r.status === 'done' && r.result && r.result.page;
    const detail = r.status === 'done' ? summary(r) : '';
    clear(el,
      h('div.request-line', h('strong', what), ` ${statusLine(r)}`, answer.deduplicated && r.status !== 'done' && r.status !== 'failed' ? ' (already requested)' : ''),
      detail ? h('div.small', detail) : null,
      h('div.request-actions', page ? h('a', { href: page, onclick: close }, 'Open result') : null,
        h('button.linklike', { type: 'button', onclick: close, 'aria-label': `Dismiss ${what}` }, 'Dismiss')));
  };
  const update = (r) => {
    if (finished || !r || r.id !== id) return;
    if (last && r.updated_at && last.updated_at && r.updated_at < last.updated_at) return;
    last = r;
    render(r);
    if (r.status === 'done' || r.status === 'failed') {
      finished = true;
      off(); clearInterval(timer);
      setTimeout(() => el.remove(), KEEP_MS[r.status]);
      if (onDone) onDone(r);
    }
  };
  if (!id) {  // an answer without a request (older gateway): say it was accepted
    render({ status: 'queued', id: null });
    setTimeout(() => el.remove(), 4000);
    return el;
  }
  off = live.onLocal('request.changed', update);
  const poll = () => get(`/requests/${encodeURIComponent(id)}`).then(update).catch(() => {});
  timer = setInterval(poll, POLL_MS);
  render({ id, status: answer.status || 'queued' });
  poll();
  return el;
}
