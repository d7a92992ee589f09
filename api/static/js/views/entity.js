// One entity: its daily sentiment trend, top sources, co-mentioned entities and latest negative items.

import { request } from '../api.js';
import { ranking, sentimentTrend } from '../charts.js';
import { emptyState, fill, h } from '../dom.js';
import { fillDays, fillHours, periodEnding } from '../entities.js';
import { formatCount, formatHour, formatPercent } from '../format.js';
import { documentRow, documentTable } from './documents.js';

export async function renderEntity(view, { args: [entityId], periodDays }) {
  const all = await request('/entities');
  const period = periodEnding(all, periodDays);
  const report = await request(`/entities/${encodeURIComponent(entityId)}`, period ? { since: period.since, until: period.until, latest: 10 } : { latest: 10 });
  const days = period ? fillDays(report.daily, period.since, period.until) : report.daily;
  const negative = report.by_sentiment.negative ?? 0;
  const documentsLink = (sentiment) => {
    const params = new URLSearchParams({ entity: report.entity_id });
    if (sentiment) params.set('sentiment', sentiment);
    if (period) {
      params.set('since', period.since);
      params.set('until', period.until);
    }
    return `#/documents?${params}`;
  };
  fill(view, 
    h('div', { class: 'view-head' },
      h('a', { class: 'back', href: '#/' }, '← 总览'),
      h('h1', {}, report.name),
      h('p', { class: 'subtle' }, report.aliases.length ? `别名：${report.aliases.join('、')}` : '',
        period ? `　统计周期 ${period.since} 至 ${period.until}` : '')),
    h('section', { class: 'stat-row' },
      stat('提及', formatCount(report.mentions)),
      stat('报道簇', formatCount(report.stories)),
      stat('负面', formatCount(negative), 'negative'),
      stat('负面占比', formatPercent(report.mentions ? negative / report.mentions : 0), 'negative'),
      h('div', { class: 'stat-actions' },
        h('a', { class: 'button', href: documentsLink('negative') }, '查看负面文档'),
        h('a', { class: 'button button-quiet', href: documentsLink('') }, '全部文档'),
        h('a', { class: 'button button-quiet', href: `#/alerts?entity=${encodeURIComponent(report.entity_id)}` }, '预警'))),
    h('section', { class: 'panel' }, h('h2', {}, '每日情感趋势'),
      days.length ? sentimentTrend(days, { label: `${report.name} 每日情感趋势`, height: 260 }) : emptyState('该周期内没有提及。')),
    report.hourly?.length && report.until
      ? h('section', { class: 'panel' }, h('h2', {}, `逐小时（${report.until} 24 时 UTC 之前的 48 小时，按北京时间标注）`),
        sentimentTrend(fillHours(report.hourly, report.until), { label: `${report.name} 逐小时情感`, height: 180, compact: true, tick: (d) => formatHour(d.hour) }))
      : null,
    h('div', { class: 'columns' },
      h('section', { class: 'panel' }, h('h2', {}, '主要来源'),
        Object.keys(report.top_sources).length ? ranking(Object.entries(report.top_sources), { label: '主要来源' }) : emptyState('无')),
      h('section', { class: 'panel' }, h('h2', {}, '共同出现的实体'),
        report.co_mentioned?.length
          ? h('ul', { class: 'plain-list' }, report.co_mentioned.map((c) => h('li', {},
            h('a', { href: `#/entities/${encodeURIComponent(c.entity_id)}` }, c.name), h('span', { class: 'subtle' }, ` ${c.documents} 篇共同报道`))))
          : emptyState('无'))),
    h('section', { class: 'panel' }, h('h2', {}, '最新负面报道'),
      report.latest_negative.length ? documentTable(report.latest_negative.map(documentRow)) : emptyState('该周期内没有负面报道。')),
  );
}

function stat(label, value, tone = '') {
  return h('div', { class: `stat ${tone ? `stat-${tone}` : ''}` }, h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label));
}
