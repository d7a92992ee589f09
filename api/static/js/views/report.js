// 日报: one day's coverage against the day before — headline numbers, each entity, the worst stories with evidence.

import { download, request } from '../api.js';
import { emptyState, fill, h } from '../dom.js';
import { RISK_LABEL, formatCount, formatPercent } from '../format.js';

const EXPORTS = [['markdown', 'Markdown', 'md'], ['html', 'HTML', 'html'], ['csv', 'CSV 明细', 'csv'], ['xlsx', 'Excel 明细', 'xlsx']];

// A relative change from the API as text and a tone; null means the day before had none, so `current` decides.
function change(ratio, { current = 0, badWhenUp = false } = {}) {
  if (ratio === null || ratio === undefined) {
    return current ? h('span', { class: `change ${badWhenUp ? 'change-neg-up' : 'change-up'}` }, '新出现') : h('span', { class: 'change change-flat' }, '—');
  }
  if (Math.abs(ratio) < 0.005) return h('span', { class: 'change change-flat' }, '持平');
  const up = ratio > 0;
  const tone = badWhenUp ? (up ? 'change-neg-up' : 'change-neg-down') : (up ? 'change-up' : 'change-down');
  return h('span', { class: `change ${tone}` }, `${up ? '+' : '−'}${Math.abs(ratio * 100).toFixed(0)}%`);
}

function headline(report) {
  const hl = report.headline;
  const stat = (label, value, extra, tone = '') => h('div', { class: `stat ${tone}` },
    h('span', { class: 'stat-value', dataset: { stat: label } }, value), h('span', { class: 'stat-label' }, label), extra ?? null);
  return h('section', { class: 'stat-row', id: 'report-headline' },
    stat('文档', formatCount(hl.documents), change(hl.documents_change, { current: hl.documents })),
    stat('实体提及', formatCount(hl.mentions)),
    stat('负面提及', formatCount(hl.negative), change(hl.negative_change, { current: hl.negative, badWhenUp: true }), 'stat-negative'),
    stat('负面占比', formatPercent(hl.negative_share), null, 'stat-negative'),
    stat('高风险文档', formatCount(hl.high_risk), null, hl.high_risk ? 'stat-negative' : ''));
}

function entityTable(rows) {
  return h('table', { class: 'table', id: 'report-entities' },
    h('thead', {}, h('tr', {}, ['实体', '提及', '正面', '中性', '负面', '负面占比', '提及变化', '负面变化'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((e) => h('tr', { dataset: { entity: e.entity_id } },
      h('td', {}, h('a', { href: `#/entities/${encodeURIComponent(e.entity_id)}` }, e.name)),
      h('td', { class: 'num' }, formatCount(e.mentions)),
      h('td', { class: 'num' }, formatCount(e.positive)),
      h('td', { class: 'num' }, formatCount(e.neutral)),
      h('td', { class: 'num' }, formatCount(e.negative)),
      h('td', { class: 'num' }, e.mentions ? formatPercent(e.negative_share) : '—'),
      h('td', { class: 'num' }, change(e.mentions_change, { current: e.mentions })),
      h('td', { class: 'num' }, change(e.negative_change, { current: e.negative, badWhenUp: true }))))));
}

function negativeStories(stories, names) {
  if (!stories.length) return emptyState('当日没有负面报道。');
  return h('ol', { class: 'report-stories', id: 'report-stories' }, stories.map((s) => h('li', { class: 'panel' },
    h('div', { class: 'alert-head' },
      s.risk && s.risk !== 'low' ? h('span', { class: `badge badge-risk-${s.risk}` }, RISK_LABEL[s.risk]) : null,
      h('a', { class: 'doc-title', href: `#/documents/${encodeURIComponent(s.doc_id)}` }, s.title),
      h('span', { class: 'subtle' }, `首发 ${s.first_source} · ${s.documents} 篇 · ${s.outlets.join('、')} · 涉及 ${s.entities.map((id) => names.get(id) ?? id).join('、')}`)),
    s.evidence.map((e) => h('blockquote', { class: 'quote' }, e.quote)))));
}

export async function renderReport(view, { params }) {
  const day = params.get('date') ?? '';
  const report = await request('/reports/daily', { date: day, format: 'json' });
  const names = new Map(report.by_entity.map((e) => [e.entity_id, e.name]));
  const picker = h('input', { type: 'date', name: 'date', value: report.date, 'aria-label': '报告日期' });
  picker.addEventListener('change', () => { if (picker.value) location.hash = `#/report?date=${picker.value}`; });
  const status = h('span', { class: 'subtle', role: 'status' });
  const exports = EXPORTS.map(([format, label, ext]) => h('button', {
    type: 'button', class: 'button-quiet',
    onclick: async () => {
      status.textContent = '';
      try {
        await download('/reports/daily', { date: report.date, format }, `yuqing-${report.date}.${ext}`);
      } catch (err) {
        status.textContent = `导出失败：${err.message}`;
      }
    },
  }, label));
  fill(view,
    h('div', { class: 'view-head report-head' },
      h('div', {}, h('h1', {}, `舆情日报 · ${report.date}`),
        h('p', { class: 'subtle' }, `与 ${report.previous_date} 相比（日期按 UTC 计）`)),
      h('div', { class: 'report-tools' }, picker, h('span', { class: 'subtle' }, '导出'), exports, status)),
    headline(report),
    report.new_entities.length
      ? h('p', { class: 'new-entities' }, '首次出现：', report.new_entities.map((e) => h('a', { class: 'keyword', href: `#/entities/${encodeURIComponent(e.entity_id)}` }, `${e.name}（${e.mentions}）`)))
      : null,
    h('h2', {}, '负面报道（按传播与风险排序）'),
    negativeStories(report.top_negative_stories, names),
    h('h2', {}, '各实体'),
    entityTable(report.by_entity),
  );
}
