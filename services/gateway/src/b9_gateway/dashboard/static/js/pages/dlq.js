// Dead letters: list (filter by type and reason), inspect, retry one or all matching, purge.
import { h, clear, num, date, when, throttle, toast } from '../dom.js';
import { get, post, live } from '../api.js';
import { pageHeader, statCards, dataTable, button, badge, dialog, field, errorBox } from '../ui.js';

export async function dlqPage({ main }) {
  const st = { type: '', reason: '', after: [0] };
  const statsBox = h('div');
  const more = h('div.pager');
  const table = dataTable({
    caption: 'Dead letters', key: (d) => String(d.seq), empty: 'The dead-letter queue is empty.',
    cols: [
      { label: 'Seq', class: 'num', render: (d) => d.seq },
      { label: 'Event', render: (d) => h('div', h('span.etype.s-dlq', d.type), h('div.cell-sub', d.original_subject)) },
      { label: 'Reason', render: (d) => h('div.cell-sub', d.reason || '—') },
      { label: 'Consumer', render: (d) => d.consumer || '—' },
      { label: 'Deliveries', class: 'num', render: (d) => num(d.deliveries) },
      { label: 'Dead-lettered (received time)', render: (d) => when(d.failed_at || d.stored_at, 'received') },
      { label: '', render: (d) => h('div.row-actions', button('Inspect', () => inspect(d.seq), { small: true, 'aria-label': `Inspect dead letter ${d.seq}` }),
        button('Retry', () => retry(d.seq), { small: true, kind: 'primary', 'aria-label': `Retry dead letter ${d.seq}` })) },
    ],
  });

  async function load() {
    const res = await get('/dlq', { type: st.type || null, reason: st.reason || null, after_seq: st.after[st.after.length - 1], limit: 50 });
    table.setRows(res.items);
    clear(statsBox, statCards([{ id: 'depth', label: 'Dead letters', value: num(res.depth) }, { label: 'Shown', value: num(res.items.length) }]));
    clear(more, button('First page', () => { st.after = [0]; load(); }, { small: true, disabled: st.after.length === 1 }),
      button('Next page', () => { st.after.push(res.next_after_seq); load(); }, { small: true, disabled: res.next_after_seq === null }));
  }

  async function inspect(seq) {
    const body = h('div', 'Loading…');
    const dlg = dialog(`Dead letter ${seq}`, body, [button('Close', () => dlg.close()), button('Retry', async () => { await retry(seq); dlg.close(); }, { kind: 'primary' })]);
    try {
      const d = await get(`/dlq/${seq}`);
      let pretty = d.data || '';
      try { pretty = JSON.stringify(JSON.parse(d.data), null, 2); } catch { /* raw bytes */ }
      clear(body, h('dl.kv', h('div', h('dt', 'Type'), h('dd', d.type)), h('div', h('dt', 'Consumer'), h('dd', d.consumer || '—')), h('div', h('dt', 'Deliveries'), h('dd', num(d.deliveries))),
        h('div', h('dt', 'Original'), h('dd', `${d.original_stream || ''} #${d.original_seq ?? '—'}`)), h('div', h('dt', 'Event id'), h('dd.mono', d.event_id || '—')), h('div', h('dt', 'Size'), h('dd', `${num(d.size)} B`))),
        h('h3', 'Reason'), h('p', d.reason || '—'), h('h3', 'Payload'), h('pre.data', pretty), h('h3', 'Headers'), h('pre.data', JSON.stringify(d.headers || {}, null, 2)));
    } catch (e) { clear(body, errorBox(e)); }
  }

  async function retry(seq) {
    try { await post(`/dlq/${seq}/retry`); toast(`Dead letter ${seq} republished`, 'ok'); load(); } catch (e) { toast(e.message, 'error'); }
  }

  function bulk(action) {
    const what = `${st.type ? `of type ${st.type}` : 'of every type'}${action === 'retry' && st.reason ? ` with reason “${st.reason}”` : ''}`;
    const dlg = dialog(action === 'retry' ? 'Retry dead letters' : 'Purge dead letters',
      h('p', action === 'retry' ? `Republish every dead letter ${what} to its original subject?` : `Delete every dead letter ${what}? This cannot be undone.`),
      [button('Cancel', () => dlg.close()), button(action === 'retry' ? 'Retry all' : 'Purge', async () => {
        try {
          const r = await post(`/dlq/${action}`, { type: st.type || null, reason: action === 'retry' ? st.reason || null : null });
          toast(`${r.count} dead letters ${action === 'retry' ? 'retried' : 'purged'}`, 'ok');
          dlg.close(); st.after = [0]; load();
        } catch (e) { toast(e.message, 'error'); }
      }, { kind: action === 'retry' ? 'primary' : 'danger' })]);
  }

  const typeInput = h('input', { type: 'text', placeholder: 'e.g. creator.* or subreddit.fetched', autocomplete: 'off' });
  const reasonInput = h('input', { type: 'text', placeholder: 'text in the reason', autocomplete: 'off' });
  const apply = () => { st.type = typeInput.value.trim(); st.reason = reasonInput.value.trim(); st.after = [0]; load().catch((e) => toast(e.message, 'error')); };
  for (const i of [typeInput, reasonInput]) i.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  const reload = throttle(() => load().catch(() => {}), 2000);
  const off = live.on('dlq.', reload);
  clear(main,
    pageHeader('Dead letters', 'Events a consumer gave up on: inspect, fix, retry',
      button('Retry all matching', () => bulk('retry'), { kind: 'primary' }), button('Purge matching', () => bulk('purge'), { kind: 'danger' })),
    statsBox,
    h('div.toolbar', field('Event type', typeInput), field('Reason contains', reasonInput), button('Filter', apply)),
    table.el, more,
    h('section.card', h('h2', 'Replay'), h('p.muted', 'Fixed the cause? Retry the dead letters above, or re-run a consumer over part of a stream on the ',
      h('a', { href: '#/admin/replays' }, 'Replays'), ' page (or with ', h('code', 'b9 replay'), ').')));
  await load();
  return { dispose() { off(); reload.cancel(); } };
}
