// 预警: fired alerts with what was observed against the entity's own baseline, and the documents behind them.

import { request } from '../api.js';
import { emptyState, fill, h } from '../dom.js';
import { formatDateTime, formatPercent } from '../format.js';

const KIND_LABEL = { negative_volume: '负面声量激增', negative_share: '负面占比激增', high_risk: '高风险报道' };
const DELIVERY_LABEL = { not_configured: '未配置推送', pending: '推送中', delivered: '已推送', failed: '推送失败' };

export function alertKindLabel(kind) {
  return KIND_LABEL[kind] ?? kind;
}

// What fired, in words: the day's value against the entity's own baseline.
function observedText(alert) {
  if (alert.kind === 'high_risk') return `当日出现 ${alert.evidence_doc_ids.length} 篇高风险报道`;
  const share = alert.kind === 'negative_share';
  const fmt = share ? (v) => formatPercent(v) : (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const what = share ? '负面占比' : '负面提及';
  const baseline = alert.baseline_mean === null ? '' : `，近期基线 ${fmt(alert.baseline_mean)} ± ${fmt(alert.baseline_std ?? 0)}`;
  const z = alert.z_score === null ? '' : `（z = ${alert.z_score.toFixed(1)}）`;
  return `当日${what} ${fmt(alert.observed)}${share ? '' : ' 次'}${baseline}${z}`;
}

const PAGE_SIZE = 20;
const EVIDENCE_SHOWN = 3;

// Titles of the evidence documents shown on this page, each fetched once (alerts often share documents).
async function evidenceTitles(alerts) {
  const ids = [...new Set(alerts.flatMap((a) => a.evidence_doc_ids.slice(0, EVIDENCE_SHOWN)))];
  const details = await Promise.all(ids.map((id) => request(`/documents/${encodeURIComponent(id)}`).catch(() => null)));
  return new Map(ids.map((id, i) => [id, details[i]?.title ?? id]));
}

export async function renderAlerts(view, { params }) {
  const page = Math.max(1, Number(params.get('page')) || 1);
  const [result, entities] = await Promise.all([
    request('/alerts', { page, page_size: PAGE_SIZE, entity: params.get('entity') }),
    request('/entities'),
  ]);
  const alerts = result.items;
  const names = new Map(entities.map((e) => [e.entity_id, e.name]));
  const titles = await evidenceTitles(alerts);
  const evidence = alerts.map((a) => a.evidence_doc_ids.slice(0, EVIDENCE_SHOWN).map((id) => ({ id, title: titles.get(id) })));
  const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  const pageLink = (p) => `#/alerts?${new URLSearchParams({ ...(params.get('entity') ? { entity: params.get('entity') } : {}), page: String(p) })}`;
  fill(view, 
    h('div', { class: 'view-head' }, h('h1', {}, '预警'),
      h('p', { class: 'subtle' }, '实体的负面声量或负面占比明显高于其自身近期基线，或出现高风险报道时触发。',
        params.get('entity') ? h('span', {}, `　当前只显示 ${names.get(params.get('entity')) ?? params.get('entity')} 的预警（`, h('a', { href: '#/alerts' }, '显示全部'), '）') : null)),
    alerts.length
      ? h('ul', { class: 'alert-list', id: 'alert-list' }, alerts.map((a, i) => h('li', { class: `panel alert alert-${a.kind}`, dataset: { alert: a.id } },
        h('div', { class: 'alert-head' },
          h('span', { class: 'badge badge-alert' }, alertKindLabel(a.kind)),
          h('a', { class: 'alert-entity', href: `#/entities/${encodeURIComponent(a.entity_id)}` }, names.get(a.entity_id) ?? a.entity_id),
          h('span', { class: 'subtle' }, `${a.day} · 触发于 ${formatDateTime(a.created_at)} · ${DELIVERY_LABEL[a.delivery_status] ?? a.delivery_status}`)),
        h('p', { class: 'alert-message' }, observedText(a)),
        h('p', { class: 'subtle alert-detail' }, a.message),
        evidence[i].length
          ? h('ul', { class: 'plain-list alert-evidence' }, evidence[i].map((d) => h('li', {}, h('a', { href: `#/documents/${encodeURIComponent(d.id)}` }, d.title))),
            a.evidence_doc_ids.length > EVIDENCE_SHOWN ? h('li', { class: 'subtle' }, `另有 ${a.evidence_doc_ids.length - EVIDENCE_SHOWN} 篇`) : null)
          : null)))
      : emptyState('暂无预警。可通过 POST /alert-rules 为实体设置预警规则。'),
    pages > 1
      ? h('nav', { class: 'pager' },
        page > 1 ? h('a', { class: 'button button-quiet', href: pageLink(page - 1) }, '上一页') : null,
        h('span', {}, `第 ${page} / ${pages} 页，共 ${result.total} 条`),
        page < pages ? h('a', { class: 'button button-quiet', href: pageLink(page + 1) }, '下一页') : null)
      : null,
  );
}
