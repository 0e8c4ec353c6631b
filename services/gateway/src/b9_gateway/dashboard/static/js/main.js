// App shell: login, navigation, hash router, live-feed status.
import { h, clear } from './dom.js';
import { api, live, setUnauthorizedHandler, setRole } from './api.js';
import { loading, errorBox } from './ui.js';
import { bell } from './bell.js';

const NAV = [
  ['Monitor', [['#/', 'Overview', 'overview'], ['#/alerts', 'Alerts', 'alerts']]],
  ['Reddit', [
    ['#/reddit/review', 'Subreddit review', 'review'],
    ['#/reddit/categorization', 'Categorization', 'categorization'],
    ['#/reddit/posting', 'Posting', 'posting'],
    ['#/reddit/posts', 'Post analysis', 'posts'],
    ['#/reddit/users', 'User analysis', 'users'],
    ['#/reddit/rising', 'Rising subreddits', 'rising'],
  ]],
  ['Instagram', [
    ['#/instagram/review', 'Creator review', 'creators'],
    ['#/instagram/niching', 'Niching', 'niching'],
    ['#/instagram/reels', 'Reels', 'reels'],
    ['#/instagram/authenticity', 'Authenticity', 'authenticity'],
  ]],
  ['Admin', [
    ['#/models', 'Models', 'models'],
    ['#/admin/dlq', 'Dead letters', 'dlq'],
    ['#/admin/replays', 'Replays', 'replays'],
    ['#/admin/accounts', 'Accounts', 'accounts'],
  ]],
];

// route pattern -> [module, export]
const ROUTES = [
  [/^\/$/, 'overview', 'overviewPage'],
  [/^\/reddit\/review$/, 'subreddits', 'reviewPage'],
  [/^\/reddit\/subreddits\/([^/]+)$/, 'subreddits', 'subredditDetailPage'],
  [/^\/reddit\/categorization$/, 'categorization', 'categorizationPage'],
  [/^\/reddit\/posting$/, 'posting', 'postingPage'],
  [/^\/reddit\/posts$/, 'posts', 'postsPage'],
  [/^\/reddit\/users$/, 'users', 'usersPage'],
  [/^\/reddit\/users\/([^/]+)$/, 'users', 'userDetailPage'],
  [/^\/instagram\/review$/, 'creators', 'creatorReviewPage'],
  [/^\/instagram\/niching$/, 'niching', 'nichingPage'],
  [/^\/instagram\/reels$/, 'reels', 'reelsPage'],
  [/^\/instagram\/creators\/([^/]+)$/, 'creator', 'creatorDetailPage'],
  [/^\/models$/, 'models', 'modelsPage'],
  [/^\/admin\/dlq$/, 'dlq', 'dlqPage'],
  [/^\/admin\/replays$/, 'replays', 'replaysPage'],
  [/^\/admin\/accounts$/, 'accounts', 'accountsPage'],
  [/^\/alerts$/, 'alerts', 'alertsPage'],
  [/^\/reddit\/rising$/, 'insights', 'risingPage'],
  [/^\/instagram\/authenticity$/, 'insights', 'authenticityPage'],
];

const app = document.getElementById('app');
let current = null; // {dispose}
let main = null;
let authed = false;
let me = null; // {id, name, role, channel} from GET /session

function setMe(who) {
  me = who;
  setRole(who ? who.role : null);
  if (who) document.body.dataset.role = who.role; else delete document.body.dataset.role;
}

function shell() {
  const liveDot = h('span.live-dot', { 'aria-hidden': 'true' });
  const liveText = h('span', 'connecting');
  // Events the server skipped (too fast to show) add up in one indicator, not a toast each.
  let skipped = 0;
  const skippedText = h('span.live-skipped', { hidden: true, title: 'Events the live feed skipped because they came too fast to show; pages re-read their data' });
  const status = h('div.live-status', { title: 'Live event feed (SSE)' }, liveDot, h('span.sr-only', 'Live feed: '), liveText, skippedText);
  live.onState((s, extra) => {
    liveDot.dataset.state = s;
    liveText.textContent = { live: 'live', connecting: 'connecting', reconnecting: 'reconnecting…', off: 'offline' }[s] || s;
    if (extra.dropped) {
      skipped += extra.dropped;
      skippedText.hidden = false;
      skippedText.textContent = ` · skipped ${skipped.toLocaleString('en-US')} events`;
    }
  });
  const nav = h('nav.sidebar', { 'aria-label': 'Main' },
    h('div.brand', h('span.logo', 'b9'), h('span', 'Agency dashboard'), bell()),
    NAV.map(([group, links]) => h('div.nav-group', h('div.nav-title', { id: `nav-${group}` }, group),
      h('ul', { 'aria-labelledby': `nav-${group}` }, links.map(([href, label, id]) => h('li', h('a.nav-link', { href, dataset: { nav: id } }, label)))))),
    h('div.sidebar-foot', status,
      h('span.whoami', { title: `Signed in as ${me?.name} (${me?.role})` }, `${me?.name} (${me?.role})`),
      h('button.btn.ghost.small.logout', { type: 'button', onclick: logout }, 'Log out')));
  main = h('main#main.main', { tabindex: '-1' });
  clear(app, nav, main);
}

async function logout() {
  await api('/logout', { method: 'POST' }).catch(() => {});
  authed = false;
  setMe(null);
  main = null;
  live.stop();
  location.hash = '#/login';
}

function loginPage(message) {
  live.stop();
  main = null;
  const input = h('input#login-key', { type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'login-help' });
  const err = h('div#login-error.error-box', { role: 'alert', hidden: !message }, message || '');
  const submit = h('button.btn.primary', { type: 'submit' }, 'Sign in');
  const form = h('form.login-card', {
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      try {
        const res = await api('/login', { method: 'POST', body: { key: input.value }, quiet401: true });
        setMe({ name: res.name, role: res.role });
        authed = true;
        main = null; // a new shell: the header shows who is signed in
        const back = sessionStorage.getItem('b9-after-login') || '#/';
        sessionStorage.removeItem('b9-after-login');
        // A new hash routes through 'hashchange'; routing here as well would open the page twice.
        if (location.hash === back) route(); else location.hash = back;
      } catch (ex) {
        err.textContent = ex.status === 401
          ? `That key is not right (${ex.message}). Use the API key “b9 users add” printed for you.`
          : `Could not sign in: ${ex.message}`;
        err.hidden = false;
        input.select();
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('div.brand.center', h('span.logo', 'b9'), h('span', 'Agency dashboard')),
  h('h1', 'Sign in'),
  h('div.field', h('label', { for: 'login-key' }, 'API key'), input,
    h('small#login-help.muted', 'Your own key (b9 users add NAME --role ROLE prints it); the first admin key is in .b9/admin-api-key.')),
  err, submit);
  clear(app, h('main#main.login-wrap', { tabindex: '-1' }, form)); // #main: the skip link's target here too
  input.focus();
}

let ended = null; // why the session ended: shown by the sign-in page the hash change opens

setUnauthorizedHandler(() => {
  if (location.hash.startsWith('#/login')) return;
  authed = false;
  setMe(null);
  sessionStorage.setItem('b9-after-login', location.hash || '#/');
  ended = 'Your session has ended. Sign in again.';
  location.hash = '#/login';
  loginPage(ended);
});

async function ensureAuth() {
  if (authed && me?.id) return true;
  try {
    setMe(await api('/session', { quiet401: true }));
    authed = true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
  return true;
}

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const path = hash.split('?')[0];
  if (current?.dispose) current.dispose();
  current = null;
  if (path === '/login') {
    if (await ensureAuth().catch(() => false)) { location.hash = '#/'; return; }
    loginPage(ended);
    ended = null;
    return;
  }
  if (!(await ensureAuth().catch(() => false))) {
    sessionStorage.setItem('b9-after-login', location.hash || '#/');
    location.hash = '#/login';
    return;
  }
  if (!main || !main.isConnected) shell();
  live.start();
  const match = ROUTES.map(([re, mod, fn]) => [path.match(re), mod, fn]).find(([m]) => m);
  const navId = path.split('/')[2] === 'creators' ? 'creators' : path.split('/')[2] === 'subreddits' ? 'review' : null;
  for (const a of document.querySelectorAll('.nav-link')) {
    const on = a.getAttribute('href') === `#${path}` || a.dataset.nav === navId;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (!match) {
    clear(main, h('h1', 'Not found'), h('p', h('a', { href: '#/' }, 'Back to the overview')));
    return;
  }
  const [m, mod, fn] = match;
  clear(main, loading());
  const mine = {};
  current = mine;
  try {
    const page = (await import(`./pages/${mod}.js`))[fn];
    const params = m.slice(1).map(decodeURIComponent);
    // Each navigation renders into its own container, shown only if it is still the current
    // one when it resolves: two overlapping navigations (a quick second click) never leave
    // the older page on screen with its live updates already disposed.
    const view = h('div.view');
    const result = await page({ params, main: view });
    if (current !== mine) { result?.dispose?.(); return; } // navigated away meanwhile
    current = result || {};
    clear(main, view);
    const title = main.querySelector('h1');
    document.title = `${title ? title.textContent : 'b9'} · b9`;
    if (title && document.activeElement === document.body) title.focus({ preventScroll: true });
  } catch (e) {
    if (e.status === 401) return;
    console.error(e);
    if (current === mine) clear(main, errorBox(e));
  }
}

window.addEventListener('hashchange', route);
route();
