// 总览: one card per watched entity (mentions, negative share, change, sparkline), trend charts, newest alerts.

import { request } from '../api.js';
import { COLORS, sentimentTrend, sparkline } from '../charts.js';
import { emptyState, fill, h } from '../dom.js';
import { loadOverview } from '../entities.js';
import { describeChange, formatCount, formatPercent } from '../format.js';
import { alertKindLabel } from './alerts.js';

const TYPE_LABEL = { ORG: '机构', PER: '人物', LOC: '地点', PRODUCT: '产品' };

function mixBar(bySentiment, mentions) {
  return h('div', { class: 'mix', title: '正面 / 中性 / 负面 占比' },
    ['positive', 'neutral', 'negative'].map((s) => h('span', {
      class: `mix-${s}`,
      style: `width:${mentions ? (100 * (bySentiment[s] ?? 0)) / mentions : 0}%`,
    })));
}

function shareChange(current, previous, mentions) {
  if (!previous || !previous.mentions || !mentions) return { text: '', direction: 'flat' };
  const points = (current - previous.negative_share) * 100;
  if (Math.abs(points) < 0.5) return { text: '持平', direction: 'flat' };
  return { text: `${points > 0 ? '+' : '−'}${Math.abs(points).toFixed(0)} 个百分点`, direction: points > 0 ? 'up' : 'down' };
}

function card(entity, days) {
  const mentionChange = describeChange(entity.mentions, entity.previous?.mentions ?? 0);
  const negChange = shareChange(entity.negative_share, entity.previous, entity.mentions);
  const alarming = entity.mentions > 0 && entity.negative_share >= 0.5;
  return h('a', { class: `card entity-card${alarming ? ' card-alarm' : ''}`, href: `#/entities/${encodeURIComponent(entity.entity_id)}`, dataset: { entity: entity.entity_id } },
    h('div', { class: 'card-head' },
      h('span', { class: 'card-title' }, entity.name),
      h('span', { class: 'tag' }, TYPE_LABEL[entity.type] ?? entity.type)),
    h('div', { class: 'card-numbers' },
      h('div', { class: 'metric' },
        h('span', { class: 'metric-value', dataset: { metric: 'mentions' } }, formatCount(entity.mentions)),
        h('span', { class: 'metric-label' }, '提及'),
        h('span', { class: `change change-${mentionChange.direction}`, title: `与前 ${days} 天相比` }, mentionChange.text)),
      h('div', { class: 'metric' },
        h('span', { class: 'metric-value metric-negative', dataset: { metric: 'negative-share' } }, entity.mentions ? formatPercent(entity.negative_share) : '—'),
        h('span', { class: 'metric-label' }, '负面占比'),
        h('span', { class: `change change-neg-${negChange.direction}`, title: `与前 ${days} 天相比` }, negChange.text))),
    mixBar(entity.by_sentiment, entity.mentions),
    sparkline(entity.daily.map((d) => d.positive + d.neutral + d.negative), {
      label: `${entity.name} 每日提及`, color: alarming ? COLORS.negative : '#3b5bdb',
    }));
}

async function latestAlerts() {
  const page = await request('/alerts', { page_size: 3 });
  return page.items ?? page;
}

export async function renderOverview(view, { periodDays }) {
  const [{ period, entities }, alerts] = await Promise.all([loadOverview(periodDays), latestAlerts()]);
  const names = new Map(entities.map((e) => [e.entity_id, e.name]));
  const sorted = [...entities].sort((a, b) => b.mentions - a.mentions || a.name.localeCompare(b.name, 'zh'));
  const heading = h('div', { class: 'view-head' },
    h('h1', {}, '实体总览'),
    h('p', { class: 'subtle', id: 'period-label' }, period
      ? `${period.since} 至 ${period.until}（近 ${period.days} 天，截至数据中最新一天），变化与前 ${period.days} 天相比`
      : '尚无提及数据'));
  const children = [heading];
  if (alerts.length) {
    children.push(h('section', { class: 'alert-strip' },
      h('span', { class: 'alert-strip-title' }, '最新预警'),
      alerts.map((a) => h('a', { class: `alert-pill alert-${a.kind}`, href: `#/alerts?entity=${encodeURIComponent(a.entity_id)}` },
        `${a.day.slice(5)} ${names.get(a.entity_id) ?? a.entity_id} · ${alertKindLabel(a.kind)}`)),
      h('a', { class: 'alert-strip-more', href: '#/alerts' }, '全部预警 →')));
  }
  children.push(sorted.length
    ? h('section', { class: 'cards', id: 'entity-cards' }, sorted.map((e) => card(e, periodDays)))
    : emptyState('关注列表为空：在配置的 watchlist 中加入要监测的机构、产品或人物。'));
  const withMentions = sorted.filter((e) => e.mentions > 0);
  if (withMentions.length) {
    children.push(h('h2', {}, '情感趋势（每日提及，按情感堆叠）'));
    children.push(h('section', { class: 'trend-grid', id: 'trend-grid' }, withMentions.map((e) => h('figure', { class: 'panel trend-panel', dataset: { entity: e.entity_id } },
      h('figcaption', {}, h('a', { href: `#/entities/${encodeURIComponent(e.entity_id)}` }, e.name), h('span', { class: 'subtle' }, ` 共 ${e.mentions} 次提及`)),
      sentimentTrend(e.daily, { label: `${e.name} 每日情感趋势`, height: 180 })))));
  }
  fill(view, ...children);
}
