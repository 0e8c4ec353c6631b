// Replays: re-run a consumer's handler over part of a stream (by time or sequence, by event
// type), watch its progress live (replay.progress over SSE, GET /replays/{id} as a fallback),
// stop it, and see every recorded replay (from here or from `b9 replay`) with its outcome.
import { h, clear, num, date, age, throttle, toast } from '../dom.js';
import { get, post, live } from '../api.js';
import { pageHeader, dataTable, button, badge, field, progress, errorBox } from '../ui.js';

const STATUS_KIND = { running: 'info', starting: 'info', completed: 'ok', stopped: 'warn', failed: 'danger' };
const POLL_MS = 2000; // fallback when no progress event arrived for that long

function sliceText(sl) {
  if (!sl) return '—';
  const range = sl.from_seq && sl.to_seq !== undefined && sl.from_seq <= sl.to_seq ? `seq ${num(sl.from_seq)}–${num(sl.to_seq)}` : 'empty';
  const bits = [sl.stream || '', range];
  if (sl.since) bits.push(`since ${date(sl.since)}`);
  if (sl.until) bits.push(`until ${date(sl.until)}`);
  if (sl.subjects?.length) bits.push(sl.subjects.join(', '));
  return bits.filter(Boolean).join(' · ');
}

function statusBadge(status) {
  return h('span.replay-status', { dataset: { status } }, badge(status, STATUS_KIND[status] || 'neutral'));
}

export async function replaysPage({ main }) {
  const { services, max_running: maxRunning } = await get('/replays/consumers');
  const runs = new Map(); // id -> progress of replays started or seen running here
  const heard = new Map(); // id -> time of the last progress event
  let listed = []; // the recorded replays shown in the table
  const runBox = h('div#replay-runs');
  const planBox = h('div#replay-plan');
  const err = h('div.error-box', { role: 'alert', hidden: true });

  // ---- the form
  const service = h('select#replay-consumer', {}, services.map((s) => h('option', { value: s, selected: s === 'persistence' }, s)));
  const stream = h('select#replay-stream', {}, [['', 'The consumer’s stream'], ['SCRAPE', 'SCRAPE'], ['DERIVED', 'DERIVED']].map(([v, l]) => h('option', { value: v }, l)));
  const by = h('select#replay-by', {}, [['all', 'Whole stream'], ['time', 'Time window'], ['seq', 'Sequence range']].map(([v, l]) => h('option', { value: v }, l)));
  const since = h('input#replay-since', { type: 'text', placeholder: '2h, 1d or 2025-03-01T12:00Z', autocomplete: 'off' });
  const until = h('input#replay-until', { type: 'text', placeholder: 'empty = now', autocomplete: 'off' });
  const fromSeq = h('input#replay-from', { type: 'number', min: 1, step: 1, inputmode: 'numeric' });
  const toSeq = h('input#replay-to', { type: 'number', min: 1, step: 1, inputmode: 'numeric' });
  const subjects = h('input#replay-subjects', { type: 'text', placeholder: 'e.g. subreddit.fetched, creator.scraped', autocomplete: 'off' });
  const rate = h('input#replay-rate', { type: 'number', min: 1, step: 1, inputmode: 'numeric', placeholder: 'no limit' });
  const dry = h('input#replay-dry', { type: 'checkbox' });
  const timeFields = h('div.toolbar', field('Since', since), field('Until', until));
  const seqFields = h('div.toolbar', field('From sequence', fromSeq), field('To sequence', toSeq));
  const submit = h('button.btn.primary', { type: 'submit' }, 'Start replay');
  const showSlice = () => { timeFields.hidden = by.value !== 'time'; seqFields.hidden = by.value !== 'seq'; };
  by.addEventListener('change', showSlice);
  dry.addEventListener('change', () => { submit.textContent = dry.checked ? 'Count messages' : 'Start replay'; });
  showSlice();

  function body() {
    const b = { consumer: service.value, by: 'dashboard', dry_run: dry.checked };
    if (stream.value) b.stream = stream.value;
    if (by.value === 'time') { b.since = since.value.trim() || null; b.until = until.value.trim() || null; }
    if (by.value === 'seq') {
      if (fromSeq.value) b.from_seq = Number(fromSeq.value);
      if (toSeq.value) b.to_seq = Number(toSeq.value);
    }
    const subs = subjects.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (subs.length) b.subject = subs;
    if (rate.value) b.rate = Number(rate.value);
    return b;
  }

  const form = h('form#replay-form', {
    'aria-labelledby': 'replay-form-h',
    onsubmit: async (e) => {
      e.preventDefault();
      err.hidden = true;
      submit.disabled = true;
      try {
        const r = await post('/replays', body());
        if (r.dry_run) { showPlan(r); return; }
        clear(planBox);
        if (!runs.has(r.id)) runs.set(r.id, r); // a progress event may have come first: it is newer
        heard.set(r.id, Date.now());
        renderRuns();
        toast(`Replay of ${r.consumer} started: ${num(r.total)} messages`, 'ok');
        loadList();
      } catch (ex) {
        err.textContent = ex.status === 409 ? `Busy: ${ex.message}` : ex.message;
        err.hidden = false;
      } finally { submit.disabled = false; }
    },
  },
  h('div.toolbar', field('Consumer', service), field('Stream', stream), field('Slice', by)),
  timeFields, seqFields,
  h('div.toolbar', field('Event types', subjects, 'comma-separated; empty = all the consumer takes'), field('Rate limit (events/s)', rate)),
  h('div.toolbar', h('label.switch', dry, h('span', 'Only count what the slice holds (dry run)')), submit),
  err);

  function showPlan(r) {
    const sl = r.slice || {};
    clear(planBox, h('section.card', { 'aria-labelledby': 'plan-h' }, h('h2#plan-h', `Dry run: ${r.consumer}`),
      h('p.muted', sliceText(sl)),
      h('div.table-wrap', h('table.data.compact', h('caption.sr-only', 'Messages per event type'),
        h('thead', h('tr', h('th', { scope: 'col' }, 'Event type'), h('th.num', { scope: 'col' }, 'Messages'))),
        h('tbody', Object.entries(sl.counts || {}).map(([k, v]) => h('tr', h('td', k), h('td.num', num(v)))),
          h('tr', h('th', { scope: 'row' }, 'Total'), h('td.num#plan-total', num(r.total))))))));
  }

  // ---- running replays: progress bars, live
  function runCard(r) {
    const active = r.status === 'running' || r.status === 'starting';
    const eta = r.eta_seconds === null || r.eta_seconds === undefined ? '—' : age(r.eta_seconds);
    return h('section.card.replay-run', { dataset: { id: r.id, status: r.status }, 'aria-labelledby': `run-${r.id}` },
      h('div.card-head', h('h3', { id: `run-${r.id}` }, `${r.consumer}`), statusBadge(r.status),
        active ? button('Stop', () => stop(r.id), { kind: 'danger', small: true, 'aria-label': `Stop replay of ${r.consumer}` })
          : button('Dismiss', () => { runs.delete(r.id); renderRuns(); }, { small: true, kind: 'ghost', 'aria-label': `Dismiss replay ${r.id}` })),
      progress(r.processed, r.total, `Replay of ${r.consumer}`),
      h('p.replay-figures', h('span.replay-count', `${num(r.processed)} / ${num(r.total)}`), ` · ${num(r.percent)}%`,
        active ? ` · ${num(r.rate)} events/s · ETA ${eta}` : ` · ${num(r.rate)} events/s`),
      h('dl.kv',
        h('div', h('dt', 'Handled'), h('dd.replay-handled', num(r.handled))),
        h('div', h('dt', 'Skipped (unchanged)'), h('dd', num(r.skipped))),
        h('div', h('dt', 'Dead-lettered'), h('dd', { class: r.dead_lettered ? 'warn-text' : null }, num(r.dead_lettered)))),
      h('p.muted.small', sliceText(r.slice)),
      r.resume_from ? h('p.small', `Stopped before the end: resume from sequence ${num(r.resume_from)}.`) : null,
      r.error ? h('p.small.warn-text', r.error) : null);
  }
  function renderRuns() {
    const list = [...runs.values()];
    clear(runBox, list.length ? list.map(runCard) : h('p.muted', `No replay in progress in this gateway (at most ${maxRunning} run at once).`));
  }
  const update = (r) => {
    if (!r.id) return;
    const was = runs.get(r.id);
    runs.set(r.id, r);
    heard.set(r.id, Date.now());
    renderRuns();
    const row = listed.find((it) => it.id === r.id);
    if (row) { row.progress = r; row.status = r.status; redrawList(); }
    if (was && (was.status === 'running' || was.status === 'starting') && r.status !== 'running') {
      toast(`Replay of ${r.consumer} ${r.status}`, r.status === 'completed' ? 'ok' : 'info');
      loadList();
    }
  };
  async function stop(id) {
    try { update(await post(`/replays/${id}/stop`)); toast('Stopping: in-flight work finishes first', 'info'); } catch (e) { toast(e.message, 'error'); }
  }
  const offProgress = live.onLocal('replay.progress', update);
  const poll = setInterval(async () => {
    for (const [id, r] of runs) {
      if ((r.status === 'running' || r.status === 'starting') && Date.now() - (heard.get(id) || 0) > POLL_MS) {
        try { update(await get(`/replays/${id}`)); } catch (e) { if (e.status === 404) runs.delete(id); }
      }
    }
  }, 1000);

  // ---- the record of every replay
  const table = dataTable({
    caption: 'Recorded replays', key: (r) => r.id, empty: 'No replay recorded yet.',
    cols: [
      { label: 'Started', render: (r) => h('div', date(r.started_at), h('div.cell-sub', r.started_by || '—')) },
      { label: 'Consumer', render: (r) => h('span.mono', r.consumer) },
      { label: 'Slice', render: (r) => h('div.cell-sub', sliceText(r.slice)) },
      { label: 'Status', render: (r) => statusBadge(r.status) },
      { label: 'Processed', class: 'num', render: (r) => `${num(r.progress?.processed)} / ${num(r.progress?.total)}` },
      { label: 'Handled', class: 'num', render: (r) => num(r.progress?.handled) },
      { label: 'Skipped', class: 'num', render: (r) => num(r.progress?.skipped) },
      { label: 'DLQ', class: 'num', render: (r) => num(r.progress?.dead_lettered) },
      { label: 'Resume from', class: 'num', render: (r) => (r.progress?.resume_from ? num(r.progress.resume_from) : '—') },
    ],
  });
  const listBox = h('div');
  const redrawList = throttle(() => table.setRows(listed), 500);
  async function loadList() {
    try {
      const res = await get('/replays', { limit: 50 });
      listed = res.items;
      table.setRows(listed);
      for (const it of res.items) if (it.progress && (it.status === 'running' || it.status === 'starting') && !runs.has(it.id)) update(it.progress);
      clear(listBox);
    } catch (e) { if (e.status !== 401) clear(listBox, errorBox(e)); }
  }

  clear(main,
    pageHeader('Replays', 'Re-run a consumer over part of a stream: the same handler code as live traffic'),
    h('section.card', { 'aria-labelledby': 'replay-form-h' }, h('h2#replay-form-h', 'Start a replay'),
      h('p.muted.small', 'Live traffic keeps flowing; the replay reads through its own consumer. Handlers are idempotent, so replaying leaves the same rows. The same as ', h('code', 'b9 replay'), ' on the command line.'),
      form),
    planBox,
    h('h2.section', 'Progress'), runBox,
    h('h2.section', 'Recorded replays'), listBox, table.el);
  renderRuns();
  await loadList();
  return { dispose() { offProgress(); clearInterval(poll); redrawList.cancel(); } };
}
