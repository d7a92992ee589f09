// 文档: search and filters (kept in the address, so a filtered list can be bookmarked or shared) and a paged table.

import { request } from '../api.js';
import { emptyState, fill, h } from '../dom.js';
import { RISK_LABEL, SENTIMENT_LABEL, formatCount, formatDateTime } from '../format.js';

const PAGE_SIZE = 20;
const FILTERS = ['q', 'entity', 'sentiment', 'source', 'risk', 'since', 'until', 'media', 'originals', 'sort'];

export function sentimentBadge(sentiment) {
  return sentiment
    ? h('span', { class: `badge badge-${sentiment}`, dataset: { sentiment } }, SENTIMENT_LABEL[sentiment] ?? sentiment)
    : h('span', { class: 'badge badge-none' }, '未分析');
}

export function riskBadge(risk) {
  return risk && risk !== 'low' ? h('span', { class: `badge badge-risk-${risk}` }, RISK_LABEL[risk] ?? risk) : null;
}

export function documentRow(doc) {
  return h('tr', { class: 'doc-row', dataset: { doc: doc.id, sentiment: doc.sentiment ?? '' } },
    h('td', { class: 'doc-main' },
      h('a', { class: 'doc-title', href: `#/documents/${encodeURIComponent(doc.id)}` }, doc.title || '（无标题）'),
      doc.snippet ? h('p', { class: 'snippet' }, doc.snippet) : null),
    h('td', { class: 'nowrap' }, doc.source),
    h('td', { class: 'nowrap' }, formatDateTime(doc.published_at)),
    h('td', { class: 'nowrap' }, sentimentBadge(doc.sentiment), riskBadge(doc.risk),
      doc.duplicate_of ? h('span', { class: 'badge badge-quiet', title: `转载自 ${doc.duplicate_of}` }, '转载') : null,
      doc.has_transcript ? h('span', { class: 'badge badge-quiet', title: '含音视频转写' }, '音视频') : null));
}

export function documentTable(rows) {
  return h('table', { class: 'table doc-table' },
    h('thead', {}, h('tr', {}, h('th', {}, '标题'), h('th', {}, '来源'), h('th', {}, '发布时间'), h('th', {}, '标签'))),
    h('tbody', {}, rows));
}

function filtersFrom(params) {
  return Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? '']));
}

function go(filters, page = 1) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
  if (page > 1) params.set('page', String(page));
  location.hash = `#/documents${params.size ? `?${params}` : ''}`;
}

function select(name, label, options, value, hint = null) {
  return h('label', { class: 'field', title: hint }, h('span', {}, label),
    h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
}

function input(name, label, value, attrs = {}) {
  return h('label', { class: 'field' }, h('span', {}, label), h('input', { name, value, ...attrs }));
}

function filterForm(filters, entities, sources) {
  const form = h('form', { class: 'filters', id: 'doc-filters', role: 'search' },
    h('label', { class: 'field field-search' }, h('span', {}, '搜索'),
      h('input', { name: 'q', type: 'search', value: filters.q, placeholder: '标题、正文或转写中的词语' })),
    select('entity', '实体', [['', '全部实体'], ...entities.map((e) => [e.entity_id, e.name])], filters.entity),
    select('sentiment', '情感', [['', '全部'], ['negative', '负面'], ['neutral', '中性'], ['positive', '正面']], filters.sentiment,
      '选了实体时，按文档对该实体的情感筛选；否则按文档整体情感'),
    select('risk', '风险', [['', '全部'], ['high', '高风险'], ['medium', '中风险'], ['low', '低风险']], filters.risk),
    input('source', '来源', filters.source, { list: 'source-options', placeholder: '全部来源', autocomplete: 'off' }),
    h('datalist', { id: 'source-options' }, sources.map((s) => h('option', { value: s }))),
    input('since', '起始日期', filters.since, { type: 'date' }),
    input('until', '截止日期', filters.until, { type: 'date' }),
    select('sort', '排序', [['', '按时间'], ['relevance', '按相关度']], filters.sort),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'originals', value: '1', checked: filters.originals === '1' }), '隐藏转载'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'media', value: '1', checked: filters.media === '1' }), '仅含音视频'),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'button-primary' }, '筛选'),
      h('a', { class: 'button button-quiet', href: '#/documents' }, '清除')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    go(Object.fromEntries(FILTERS.map((name) => [name, String(data.get(name) ?? '').trim()])));
  });
  // Picking from a list applies at once; typing (search, source, dates) waits for 筛选 or Enter.
  for (const name of ['entity', 'sentiment', 'risk', 'sort', 'originals', 'media']) {
    form.elements[name].addEventListener('change', () => form.requestSubmit());
  }
  return form;
}

function pager(filters, page, total) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (pages === 1) return null;
  return h('nav', { class: 'pager', 'aria-label': '分页' },
    h('button', { type: 'button', disabled: page <= 1, onclick: () => go(filters, page - 1) }, '上一页'),
    h('span', {}, `第 ${page} / ${pages} 页`),
    h('button', { type: 'button', disabled: page >= pages, onclick: () => go(filters, page + 1) }, '下一页'));
}

function apiParams(filters, page) {
  return {
    q: filters.q,
    entity: filters.entity,
    sentiment: filters.sentiment,
    source: filters.source,
    risk: filters.risk,
    since: filters.since,
    until: filters.until,
    media: filters.media === '1' ? 'true' : '',
    include_duplicates: filters.originals === '1' ? 'false' : '',
    sort: filters.sort,
    page,
    page_size: PAGE_SIZE,
  };
}

export async function renderDocuments(view, { params }) {
  const filters = filtersFrom(params);
  const page = Math.max(1, Number(params.get('page')) || 1);
  const [entities, result] = await Promise.all([request('/entities'), request('/documents', apiParams(filters, page))]);
  const sources = [...new Set(result.items.map((d) => d.source))].sort();
  const active = Object.values(filters).some(Boolean);
  fill(view, 
    h('div', { class: 'view-head' }, h('h1', {}, '文档'),
      h('p', { class: 'subtle', id: 'doc-count' }, `共 ${formatCount(result.total)} 篇${active ? '符合筛选条件' : ''}`)),
    filterForm(filters, entities, sources),
    result.items.length
      ? documentTable(result.items.map(documentRow))
      : emptyState(active ? '没有符合条件的文档，试试放宽筛选条件。' : '还没有文档：运行 yuqing crawl 或 yuqing demo。'),
    pager(filters, page, result.total),
  );
}
