// Overview / monitor: scraper cards with start/stop, pipeline streams and lag, DLQ depth,
// events per second per stream and the live event feed (all pushed over SSE). Scraper cards
// follow the control KV (control.changed) and the replicas' heartbeats (heartbeat) live.
import { h, clear, num, pct, usd, age, ago, throttle, toast, when } from '../dom.js';
import { get, post, live, streamOf, settled } from '../api.js';
import { pageHeader, statCards, badge, button } from '../ui.js';
import { lineChart } from '../charts.js';
import { feedCard } from './feed.js';

const beatService = (scraper) => `${scraper}-scraper`;
// Each replica's heartbeat time in this browser's clock (ages count up from it).
function stampReplicas(s, at) {
  for (const r of s.replicas) r.seenAt = at - 1000 * (r.age_seconds ?? 0);
  return s;
}
const ageOf = (r) => (Date.now() - r.seenAt) / 1000;
// health (GET /scrapers, rules in the gateway README) -> badge text and colour; never green
// unless the recent work succeeds
const HEALTH = {
  ok: ['Running', 'ok'], degraded: ['Degraded', 'warn'], failing: ['Failing', 'danger'],
  not_configured: ['Not configured', 'warn'], stopped: ['Stopped', 'neutral'],
  waiting_for_budget: ['Waiting for budget', 'info'],
};
const REPLICA_KIND = { running: 'ok', disabled: 'neutral', not_configured: 'warn', budget_exhausted: 'info', waiting_for_budget: 'info' };
const REASON_LABEL = {
  ok: 'ok', http_status: 'HTTP status', timeout: 'timeout', connection: 'connection', not_found: 'not found',
  private: 'private', banned: 'banned', not_configured: 'not configured', budget_exhausted: 'budget exhausted',
  invalid_response: 'invalid response', interrupted: 'interrupted (stopped)',
};
const reasonText = (f) => `${REASON_LABEL[f.reason] || f.reason}${f.http_status ? ` ${f.http_status}` : ''}`;

const STREAMS = ['SCRAPE', 'DERIVED', 'COMMANDS', 'DECISIONS', 'DLQ'];
const WINDOW = 60; // seconds of events/s history

export async function overviewPage({ main }) {
  const [ov, scrapers] = await Promise.all([get('/overview'), get('/scrapers')]);
  const statsBox = h('div');
  const scraperBox = h('div.grid-2', { id: 'scrapers' });
  const streamBox = h('div');
  const rateBox = h('div');
  let state = { ov, scrapers: scrapers.map((s) => stampReplicas(s, Date.now())) };

  // events per second per stream, counted from the SSE feed (one bucket per second)
  const buckets = new Map(); // second -> {STREAM: n}
  const nowSec = () => Math.floor(Date.now() / 1000);

  const renderStats = () => {
    const o = state.ov;
    const unreviewed = o.subreddits_by_review.unreviewed || 0;
    clear(statsBox, statCards([
      { id: 'subreddits', label: 'Subreddits', value: num(o.counts.subreddits), hint: `${num(o.counts.subreddits_new_today)} new today` },
      { id: 'unreviewed', label: 'Awaiting review', value: num(unreviewed), hint: h('a', { href: '#/reddit/review' }, 'Review subreddits') },
      { id: 'creators', label: 'Instagram creators', value: num(o.counts.creators), hint: `${num(o.creators_by_review.pending || 0)} pending review` },
      { id: 'users', label: 'Reddit users', value: num(o.counts.users), hint: `${num(o.counts.our_creators)} of ours` },
      { id: 'media', label: 'Stored media', value: num(o.counts.media_stored), hint: 'pictures, thumbnails, videos' },
      { id: 'dlq', label: 'Dead letters', value: h('span', { class: o.dlq_depth ? 'warn-text' : null }, num(o.dlq_depth)), hint: h('a', { href: '#/admin/dlq' }, 'Open the DLQ') },
      { id: 'ai-cost', label: 'AI cost today', value: usd(o.categorization_cost_today_usd), hint: 'categorization' },
    ]));
  };

  const scraperCard = (s) => {
    const running = s.enabled && s.replicas.length > 0;
    // a control change is pushed before the health is re-read: a disabled scraper is stopped
    const health = s.enabled ? s.health?.state : 'stopped';
    const state = health === 'stopped' && s.enabled ? ['Enabled · no replica', 'warn']
      : HEALTH[health] || (s.enabled ? (running ? ['Running', 'ok'] : ['Enabled · no replica', 'warn']) : ['Stopped', 'neutral']);
    const t = s.today;
    const reasons = Object.entries(t.by_reason || {}).filter(([k]) => k !== 'ok');
    const toggleBtn = s.enabled
      ? button('Stop', () => act(s.scraper, 'stop'), { kind: 'danger', 'aria-label': `Stop the ${s.scraper} scraper` })
      : button('Start', () => act(s.scraper, 'start'), { kind: 'primary', 'aria-label': `Start the ${s.scraper} scraper` });
    return h('section.card.scraper', { dataset: { scraper: s.scraper, enabled: String(s.enabled) }, 'aria-labelledby': `sc-${s.scraper}` },
      h('div.card-head', h('h2', { id: `sc-${s.scraper}` }, `${s.scraper[0].toUpperCase()}${s.scraper.slice(1)} scraper`),
        h('span.scraper-state', { dataset: { health: health || '' } }, badge(state[0], state[1])), toggleBtn),
      s.health && health === s.health.state ? h('p.small.health-why', { class: ['failing', 'degraded', 'not_configured'].includes(health) ? 'warn-text' : 'muted' }, s.health.explanation) : null,
      h('dl.kv',
        h('div', h('dt', 'Success rate today'), h('dd', pct(t.success_rate))),
        h('div', h('dt', 'Current cycle'), h('dd', s.current_cycle ?? '—')),
        h('div', h('dt', 'Attempts today'), h('dd', num(t.attempts))),
        h('div', h('dt', 'Calls today'), h('dd', num(t.calls))),
        h('div', h('dt', 'Cost today'), h('dd', usd(t.cost_usd))),
        h('div', h('dt', 'Last attempt'), h('dd', when(s.last_attempt_at, 'event', { relative: true })))),
      h('div.replicas', h('h3', `Replicas (${s.replicas.length})`),
        s.replicas.length
          ? h('ul', s.replicas.map((r) => h('li', { dataset: { replica: r.replica } }, h('span.mono', r.replica), badge(r.status || 'running', ageOf(r) > 60 ? 'warn' : (REPLICA_KIND[r.status || 'running'] || 'warn')),
            h('span.muted.hb-age', { dataset: { seenAt: r.age_seconds === null ? '' : String(r.seenAt) } }, `heartbeat ${r.age_seconds === null ? '—' : age(ageOf(r))} ago`))))
          : h('p.muted', 'No live replica (heartbeats expire after 30 s).')),
      Object.keys(t.by_outcome || {}).length
        ? h('p.muted.small', Object.entries(t.by_outcome).map(([k, v]) => `${k}: ${num(v)}`).join(' · ')) : null,
      reasons.length
        ? h('p.small.reasons-today', h('span.muted', 'Not succeeded today by reason: '),
          reasons.map(([k, v]) => `${REASON_LABEL[k] || k}: ${num(v)}`).join(' · ')) : null);
  };

  // The latest attempts that did not succeed, every scraper, newest first (from scrape.attempted).
  const failureBox = h('div', { id: 'last-failures' });
  const renderFailures = () => {
    const all = state.scrapers.flatMap((s) => (s.last_failures || []).map((f) => ({ ...f, scraper: s.scraper })))
      .sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 12);
    clear(failureBox, all.length
      ? h('div.table-wrap', h('table.data.compact', h('caption.sr-only', 'Last failures'),
        h('thead', h('tr', h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Scraper'), h('th', { scope: 'col' }, 'Target'),
          h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'Message'))),
        h('tbody', all.map((f) => h('tr', { dataset: { reason: f.reason, failureOf: f.scraper } },
          h('td', h('time', { datetime: f.at, title: `${f.at} (event time)` }, ago(f.at))),
          h('td', f.scraper), h('td', h('span.mono', f.target), ' ', h('span.muted.small', f.target_kind)),
          h('td', badge(reasonText(f), ['not_found', 'private', 'banned', 'interrupted'].includes(f.reason) ? 'neutral' : 'danger')),
          h('td.small', f.message || '—'))))))
      : h('p.muted', 'No failed attempt recorded.'));
  };

  const renderScrapers = () => {
    // A card re-rendered under the keyboard keeps its button focused.
    const focused = scraperBox.contains(document.activeElement) ? document.activeElement.closest('[data-scraper]')?.dataset.scraper : null;
    clear(scraperBox, state.scrapers.map(scraperCard));
    renderFailures();
    if (focused) scraperBox.querySelector(`[data-scraper="${focused}"] button`)?.focus();
  };
  const replace = (s) => {
    state.scrapers = state.scrapers.map((x) => (x.scraper === s.scraper ? stampReplicas(s, Date.now()) : x));
    renderScrapers();
  };
  const refetch = async (scraper) => {
    try { replace(await get(`/scrapers/${scraper}`)); } catch (e) { if (e.status !== 401) console.warn(e); }
  };

  // Pushed: the control KV changed (this page, another user, `nats kv put`, a script).
  const offControl = live.onLocal('control.changed', (ev) => {
    const s = state.scrapers.find((x) => x.scraper === ev.scraper);
    if (!s) return;
    if (ev.deleted || !ev.value || typeof ev.value !== 'object') { refetch(s.scraper); return; }
    s.control = { ...s.control, ...ev.value };
    s.enabled = Boolean(s.control.enabled);
    renderScrapers();
    refetch(s.scraper); // health follows (stopped / running)
  });
  // Pushed: a replica's heartbeat (every few seconds) or its goodbye on shutdown.
  const offBeat = live.onLocal('heartbeat', (ev) => {
    const s = state.scrapers.find((x) => beatService(x.scraper) === String(ev.service || '').replace(/_/g, '-'));
    if (!s) return;
    const i = s.replicas.findIndex((r) => r.replica === ev.replica);
    if (ev.deleted) {
      if (i >= 0) s.replicas.splice(i, 1);
    } else {
      if (i < 0 || s.replicas[i].status !== (ev.status || 'running')) later(); // health may change
      const r = { replica: ev.replica, status: ev.status || 'running', age_seconds: 0, version: ev.version, detail: ev.detail || {}, seenAt: ev.at ? Math.min(Date.now(), Date.parse(ev.at)) : Date.now() };
      if (i >= 0) s.replicas[i] = r; else s.replicas.push(r);
      const cycles = s.replicas.map((x) => x.detail?.cycle).filter((c) => Number.isInteger(c));
      if (cycles.length) s.current_cycle = Math.max(...cycles);
    }
    renderScrapers();
  });

  async function act(scraper, action) {
    try {
      replace(await post(`/scrapers/${scraper}/${action}`));
      scraperBox.querySelector(`[data-scraper="${scraper}"] button`)?.focus();
      toast(`${scraper} scraper ${action === 'stop' ? 'stopped' : 'started'}`, 'ok');
    } catch (e) { toast(e.message, 'error'); }
  }

  const renderStreams = () => {
    const rows = state.ov.streams.map((s) => {
      const short = s.stream.split('_').pop();
      const lag = s.consumers.reduce((a, c) => a + c.lag, 0);
      return h('tr', { dataset: { stream: short } }, h('th', { scope: 'row' }, short), h('td.num', num(s.messages)), h('td.num', num(s.events_per_second)),
        h('td', s.consumers.length ? s.consumers.map((c) => h('span.consumer', { title: `pending ${c.pending}, unacked ${c.ack_pending}, redelivered ${c.redelivered}` }, c.name, ' ', badge(num(c.lag), c.lag > 1000 ? 'warn' : 'neutral'))) : h('span.muted', 'no consumers')),
        h('td.num', num(lag)));
    });
    clear(streamBox, h('div.table-wrap', h('table.data.compact', h('caption.sr-only', 'Streams'),
      h('thead', h('tr', h('th', { scope: 'col' }, 'Stream'), h('th.num', { scope: 'col' }, 'Messages'), h('th.num', { scope: 'col' }, 'Events/s'), h('th', { scope: 'col' }, 'Consumers (lag)'), h('th.num', { scope: 'col' }, 'Total lag'))),
      h('tbody', rows))));
  };

  const renderRates = () => {
    const end = nowSec() - 1;
    const series = STREAMS.map((st) => ({ name: st, points: Array.from({ length: WINDOW }, (_, i) => {
      const sec = end - WINDOW + 1 + i;
      return { x: sec * 1000, y: buckets.get(sec)?.[st] || 0 };
    }) }));
    for (const k of buckets.keys()) if (k < end - WINDOW) buckets.delete(k);
    clear(rateBox, lineChart(series, { title: 'Events per second per stream (live)', height: 200, width: 760, area: false, xFormat: (ms) => new Date(ms).toISOString().slice(11, 19) }));
  };

  const refresh = throttle(async () => {
    try {
      const [o, s] = await Promise.all([get('/overview'), get('/scrapers')]);
      state = { ov: o, scrapers: s.map((x) => stampReplicas(x, Date.now())) };
      renderStats(); renderScrapers(); renderStreams();
    } catch (e) { if (e.status !== 401) console.warn(e); }
  }, 3000);

  const feed = feedCard();
  const later = settled(refresh);
  // Once per frame with that frame's events: counted by type (nothing parsed), re-reads set once.
  const offEvents = live.onBatch('', (events) => {
    const sec = nowSec();
    const b = buckets.get(sec) || {};
    let moved = false;
    for (const ev of events) {
      const st = streamOf(ev.type);
      b[st] = (b[st] || 0) + 1;
      // counts that move: scrapes, dead letters and anyone's decisions (awaiting review, ours, models)
      moved ||= ev.type === 'scrape.attempted' || ev.type.startsWith('dlq.') || ev.type.endsWith('.fetched')
        || ev.type === 'creator.scraped' || st === 'DECISIONS';
    }
    buckets.set(sec, b);
    if (moved) later();
  });

  const tick = setInterval(() => {
    for (const el of scraperBox.querySelectorAll('.hb-age')) {
      if (el.dataset.seenAt !== '') el.textContent = `heartbeat ${age((Date.now() - Number(el.dataset.seenAt)) / 1000)} ago`;
    }
    renderRates();
  }, 1000);
  // Heartbeats are pushed, but a replica that dies silently only expires (no event):
  // re-read now and then while the page is visible.
  const slow = setInterval(() => { if (!document.hidden) refresh(); }, 30000);

  clear(main,
    pageHeader('Overview', 'Scrapers, pipeline and the live event feed'),
    statsBox,
    h('div.grid-main',
      h('div.col',
        h('h2.section', 'Scrapers'), scraperBox,
        h('section.card', { 'aria-labelledby': 'failures-h' }, h('h2#failures-h', 'Last failures'), failureBox),
        h('section.card', { 'aria-labelledby': 'rates-h' }, h('h2#rates-h', 'Events per second'), rateBox),
        h('section.card', { 'aria-labelledby': 'streams-h' }, h('h2#streams-h', 'Pipeline streams and consumer lag'), streamBox)),
      feed.card));
  renderStats(); renderScrapers(); renderStreams(); renderRates();
  return { dispose() { offEvents(); feed.dispose(); offControl(); offBeat(); clearInterval(tick); clearInterval(slow); refresh.cancel(); } };
}
