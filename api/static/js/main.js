// The dashboard's shell: key prompt, period selector, hash routes → views.

import { AuthError, getKey, setKey, takeKeyFromFragment } from './api.js';
import { destroyCharts } from './charts.js';
import { fill, h, loading } from './dom.js';
import { renderAlerts } from './views/alerts.js';
import { renderDocument } from './views/document.js';
import { renderDocuments } from './views/documents.js';
import { renderEntity } from './views/entity.js';
import { renderOverview } from './views/overview.js';
import { renderReport } from './views/report.js';
import { renderStories } from './views/stories.js';

const PERIOD_STORAGE = 'yuqing.periodDays';

// Route patterns on the fragment (#/documents/abc?x=1 → path "/documents/abc", params x=1).
const ROUTES = [
  { pattern: /^\/$/, tab: 'overview', render: renderOverview },
  { pattern: /^\/entities\/([^/]+)$/, tab: 'overview', render: renderEntity },
  { pattern: /^\/report$/, tab: 'report', render: renderReport },
  { pattern: /^\/stories$/, tab: 'stories', render: renderStories },
  { pattern: /^\/alerts$/, tab: 'alerts', render: renderAlerts },
  { pattern: /^\/documents$/, tab: 'documents', render: renderDocuments },
  { pattern: /^\/documents\/([^/]+)$/, tab: 'documents', render: renderDocument },
];

const app = document.getElementById('app');
const keyDialog = document.getElementById('key-dialog');
const keyInput = document.getElementById('key-input');
const keyReason = document.getElementById('key-reason');
const periodSelect = document.getElementById('period');

function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  for (const route of ROUTES) {
    const match = path.match(route.pattern);
    if (match) return { route, args: match.slice(1).map(decodeURIComponent), params: new URLSearchParams(query) };
  }
  return null;
}

function periodDays() {
  return Number(periodSelect.value) || 7;
}

function askForKey(reason) {
  keyReason.textContent = reason || '';
  keyReason.hidden = !reason;
  keyInput.value = '';
  if (!keyDialog.open) keyDialog.showModal();
  keyInput.focus();
}

function showError(view, err) {
  fill(view, 
    h('div', { class: 'banner banner-error', role: 'alert' },
      h('strong', {}, err.status ? `出错了（HTTP ${err.status}）：` : '出错了：'), err.message),
  );
}

async function render() {
  destroyCharts();
  const found = currentRoute();
  for (const link of document.querySelectorAll('.tabs a')) {
    link.classList.toggle('active', found?.route.tab === link.dataset.tab);
  }
  // Each navigation renders into a fresh element: a slow, superseded view finishes into a detached node.
  const view = h('div', { class: 'view' }, loading());
  app.replaceChildren(view);
  if (!found) {
    fill(view, h('p', { class: 'empty' }, '没有这个页面。', h('a', { href: '#/' }, '返回总览')));
    return;
  }
  if (!getKey()) {
    fill(view, h('p', { class: 'empty' }, '请先输入 API 密钥。'));
    askForKey('');
    return;
  }
  try {
    await found.route.render(view, { args: found.args, params: found.params, periodDays: periodDays() });
  } catch (err) {
    if (err instanceof AuthError) {
      fill(view, h('p', { class: 'empty' }, '需要有效的 API 密钥才能查看数据。'));
      askForKey(err.message);
    } else {
      console.error(err);
      showError(view, err);
    }
  }
}

function boot() {
  takeKeyFromFragment();
  periodSelect.value = localStorage.getItem(PERIOD_STORAGE) || '7';
  periodSelect.addEventListener('change', () => {
    localStorage.setItem(PERIOD_STORAGE, periodSelect.value);
    render();
  });
  document.getElementById('key-button').addEventListener('click', () => askForKey(''));
  document.getElementById('key-form').addEventListener('submit', (event) => {
    const key = keyInput.value.trim();
    if (!key) {
      event.preventDefault();
      return;
    }
    setKey(key);
    render();
  });
  keyDialog.addEventListener('cancel', (event) => {
    if (!getKey()) event.preventDefault(); // nothing can be shown without a key
  });
  window.addEventListener('hashchange', () => {
    takeKeyFromFragment(); // a pasted #key=... link: keep the key, then show the view the link names
    render();
  });
  render();
}

// Chart.js is a deferred classic script; module scripts run after it, so window.Chart is there by now.
boot();
