// The notifications bell in the sidebar: this person's unread count (after their read mark, the same
// on every browser), refreshed live when the feed brings `notification.created` or a read mark
// (`notifications.read`, maybe from another browser), and when the Alerts page marks read.
import { h } from './dom.js';
import { live } from './api.js';
import { unreadCount } from './pages/alerts.js';

const BELL_READS_MS = [150, 500, 1500, 5000];

function icon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: '18', height: '18', fill: 'none', stroke: 'currentColor',
    'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true' })) svg.setAttribute(k, v);
  for (const d of ['M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9', 'M10.3 21a1.94 1.94 0 0 0 3.4 0']) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

export function bell() {
  const count = h('span.badge.info.bell-count', { hidden: true, 'aria-live': 'polite' });
  const el = h('a.bell', { href: '#/alerts', title: 'Notifications', 'aria-label': 'Notifications' }, icon(), count);
  Object.assign(el.style, { marginLeft: 'auto', display: 'inline-flex', alignItems: 'center', gap: '4px', color: 'inherit' });
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const n = await unreadCount();
        count.textContent = n > 99 ? '99+' : String(n);
        count.hidden = n === 0;
        count.style.display = n === 0 ? 'none' : '';
        el.setAttribute('aria-label', `Notifications: ${n} unread`);
      } catch { /* signed out or offline: the next event or page view tries again */ }
    }, 100);
  };
  // The feed brings notification.created as the alerts service publishes it; persistence stores the
  // row a moment later (~0.1-0.3 s measured): read soon, then again in case it was not there yet
  // (the pages' settled() waits 600 ms first: too late for a bell that should ring within a second).
  const soon = () => { for (const ms of BELL_READS_MS) setTimeout(refresh, ms); };
  live.on('notification.created', soon);
  live.on('notifications.read', soon);
  window.addEventListener('b9-notifications-read', refresh);
  refresh();
  return el;
}
