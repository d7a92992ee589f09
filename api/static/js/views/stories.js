// 报道簇: clusters of reprints — who published first, how far it spread, and how fast.

import { request } from '../api.js';
import { emptyState, fill, h } from '../dom.js';
import { formatCount, formatDateTime, formatSpan } from '../format.js';
import { sentimentBadge } from './documents.js';

const PAGE_SIZE = 30;

function link(params, changes) {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value) next.set(name, value);
    else next.delete(name);
  }
  return `#/stories${next.size ? `?${next}` : ''}`;
}

function controls(params, entities) {
  const bar = h('form', { class: 'filters', id: 'story-filters' },
    h('label', { class: 'field' }, h('span', {}, '实体'),
      h('select', { name: 'entity' }, h('option', { value: '' }, '全部实体'),
        entities.map((e) => h('option', { value: e.entity_id, selected: params.get('entity') === e.entity_id }, e.name)))),
    h('label', { class: 'field' }, h('span', {}, '排序'),
      h('select', { name: 'sort' },
        h('option', { value: '' }, '转载最多'),
        h('option', { value: 'recent', selected: params.get('sort') === 'recent' }, '最近活跃'))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'all', value: '1', checked: params.get('all') === '1' }), '包括未被转载的报道'));
  bar.addEventListener('change', () => {
    const data = new FormData(bar);
    location.hash = link(new URLSearchParams(), { entity: data.get('entity'), sort: data.get('sort'), all: data.get('all') });
  });
  bar.addEventListener('submit', (event) => event.preventDefault());
  return bar;
}

export async function renderStories(view, { params }) {
  const page = Math.max(1, Number(params.get('page')) || 1);
  const [result, entities] = await Promise.all([
    request('/stories', {
      page, page_size: PAGE_SIZE, min_documents: params.get('all') === '1' ? 1 : 2,
      entity: params.get('entity'), sort: params.get('sort') === 'recent' ? 'recent' : 'documents',
    }),
    request('/entities'),
  ]);
  const stories = result.items;
  const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  fill(view,
    h('div', { class: 'view-head' }, h('h1', {}, '报道簇'),
      h('p', { class: 'subtle' }, `同一事件的首发与转载归为一簇，共 ${formatCount(result.total)} 簇。传播跨度：首发到最后一次转载的时间。`)),
    controls(params, entities),
    stories.length
      ? h('table', { class: 'table story-table', id: 'story-table' },
        h('thead', {}, h('tr', {}, ['报道', '首发媒体', '首发时间', '转载', '覆盖媒体', '传播跨度', '情感'].map((t) => h('th', {}, t)))),
        h('tbody', {}, stories.map((s) => h('tr', { dataset: { story: s.id } },
          h('td', {}, h('a', { href: `#/documents/${encodeURIComponent(s.id)}` }, s.title || '（无标题）')),
          h('td', { class: 'nowrap' }, s.first_source),
          h('td', { class: 'nowrap' }, formatDateTime(s.first_published_at)),
          h('td', { class: 'num' }, formatCount(s.reprints)),
          h('td', {}, s.outlets.join('、')),
          h('td', { class: 'nowrap' }, formatSpan(s.first_published_at, s.last_published_at)),
          h('td', {}, sentimentBadge(s.sentiment))))))
      : emptyState(params.get('all') === '1' ? '还没有报道。' : '没有被转载的报道。勾选“包括未被转载的报道”可查看全部。'),
    pages > 1
      ? h('nav', { class: 'pager' },
        page > 1 ? h('a', { class: 'button button-quiet', href: link(params, { page: String(page - 1) }) }, '上一页') : null,
        h('span', {}, `第 ${page} / ${pages} 页`),
        page < pages ? h('a', { class: 'button button-quiet', href: link(params, { page: String(page + 1) }) }, '下一页') : null)
      : null,
  );
}
