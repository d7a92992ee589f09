// Charts on the vendored Chart.js (window.Chart, /static/vendor/chartjs): sparklines and daily stacked sentiment bars.

import { h } from './dom.js';
import { SENTIMENT_LABEL } from './format.js';

export const COLORS = { positive: '#2f9e66', neutral: '#a3acb9', negative: '#d9480f' };
const live = new Set();

function chartLibrary() {
  if (!globalThis.Chart) throw new Error('图表库未加载（/static/vendor/chartjs/chart.umd.min.js）');
  const Chart = globalThis.Chart;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#4a5565';
  Chart.defaults.animation = false; // analysts reload often; an animation only delays the numbers
  return Chart;
}

// Charts of the page being left are destroyed so their resize listeners go too.
export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}

function make(canvas, config) {
  const chart = new (chartLibrary())(canvas, config);
  live.add(chart);
  return chart;
}

// A small line of daily counts for an overview card (no axes; the card carries the numbers).
export function sparkline(values, { label, color = '#3b5bdb' } = {}) {
  const canvas = h('canvas', { class: 'sparkline-canvas', role: 'img', 'aria-label': label });
  const box = h('div', { class: 'sparkline' }, canvas);
  make(canvas, {
    type: 'line',
    data: {
      labels: values.map((_, i) => i),
      datasets: [{ data: values, borderColor: color, backgroundColor: `${color}22`, borderWidth: 2, fill: true, pointRadius: 0, cubicInterpolationMode: 'monotone' }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      layout: { padding: 3 }, // a quiet stretch draws its line on the baseline; keep it inside the canvas
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
      events: [],
    },
  });
  return box;
}

// Stacked bars of positive / neutral / negative mentions; `days` is [{date, positive, neutral, negative}]
// (or any points, with `tick` naming each one on the axis).
export function sentimentTrend(days, { label, height = 220, compact = false, tick = (d) => d.date.slice(5) } = {}) {
  const canvas = h('canvas', { class: 'trend-canvas', role: 'img', 'aria-label': label });
  const box = h('div', { class: 'trend', style: `height:${height}px` }, canvas);
  const order = ['negative', 'neutral', 'positive'];
  make(canvas, {
    type: 'bar',
    data: {
      labels: days.map(tick),
      datasets: order.map((sentiment) => ({
        label: SENTIMENT_LABEL[sentiment],
        data: days.map((d) => d[sentiment] ?? 0),
        backgroundColor: COLORS[sentiment],
        borderWidth: 0,
        maxBarThickness: 28,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: !compact, position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: { mode: 'index', intersect: false },
      },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, grid: { color: '#eef0f3' } },
      },
    },
  });
  return box;
}

// Horizontal bars for a ranking such as top sources: `pairs` is [[name, count], ...].
export function ranking(pairs, { label, color = '#4c6ef5' } = {}) {
  const canvas = h('canvas', { class: 'ranking-canvas', role: 'img', 'aria-label': label });
  const box = h('div', { class: 'ranking', style: `height:${Math.max(80, pairs.length * 28 + 30)}px` }, canvas);
  make(canvas, {
    type: 'bar',
    data: { labels: pairs.map((p) => p[0]), datasets: [{ data: pairs.map((p) => p[1]), backgroundColor: color, maxBarThickness: 18 }] },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: '#eef0f3' } }, y: { grid: { display: false } } },
    },
  });
  return box;
}
