// One document: labels, evidence quotes marked in the text, the transcript with a player, its story and feedback.

import { request } from '../api.js';
import { emptyState, fill, h } from '../dom.js';
import { DUPLICATE_LABEL, RISK_LABEL, SENTIMENT_LABEL, formatClock, formatDateTime } from '../format.js';
import { highlightText, locateEvidence } from '../highlight.js';
import { riskBadge, sentimentBadge } from './documents.js';

// The verified highlights the API computed; from an older server, the analysis's own evidence lists.
function evidenceOf(detail) {
  const names = new Map((detail.analysis?.targets ?? []).map((t) => [t.entity_id, t.name]));
  const raw = detail.highlights?.length
    ? detail.highlights
    : [
      ...(detail.analysis?.evidence ?? []).map((e) => ({ ...e, sentiment: detail.analysis.sentiment, entity_id: null })),
      ...(detail.analysis?.targets ?? []).flatMap((t) => t.evidence.map((e) => ({ ...e, sentiment: t.sentiment, entity_id: t.entity_id }))),
    ];
  // One quote often backs several entities: list it once, naming them all.
  const merged = new Map();
  for (const e of locateEvidence(detail.text, raw)) {
    const key = `${e.start}:${e.end}:${e.sentiment}:${e.quote}`;
    const about = e.entity_id ? names.get(e.entity_id) ?? e.entity_id : '全文';
    if (merged.has(key)) merged.get(key).about.push(about);
    else merged.set(key, { ...e, about: [about] });
  }
  return [...merged.values()].map((e, i) => ({
    ...e,
    id: `ev-${i}`,
    label: `关于${[...new Set(e.about)].join('、')}的${SENTIMENT_LABEL[e.sentiment] ?? ''}证据`,
  }));
}

function targetsPanel(analysis) {
  if (!analysis?.targets?.length) return null;
  return h('div', { class: 'targets' }, analysis.targets.map((t) => h('a', {
    class: `target target-${t.sentiment}`, href: `#/entities/${encodeURIComponent(t.entity_id)}`, title: `得分 ${t.score}`,
  }, t.name, ' ', SENTIMENT_LABEL[t.sentiment])));
}

function evidenceList(evidence) {
  if (!evidence.length) return emptyState('该文档没有证据引文（中性或尚未分析）。');
  return h('ol', { class: 'evidence-list', id: 'evidence-list' }, evidence.map((e) => h('li', { class: `evidence-item evidence-item-${e.sentiment}` },
    h('span', { class: 'evidence-label' }, e.label),
    e.found
      ? h('a', {
        href: '#', class: 'evidence-quote',
        onclick: (event) => {
          event.preventDefault();
          const mark = document.querySelector(`mark[data-evidence~="${e.id}"]`);
          mark?.scrollIntoView({ behavior: 'smooth', block: 'center' });
          mark?.classList.add('flash');
          setTimeout(() => mark?.classList.remove('flash'), 1200);
        },
      }, `“${e.quote}”`)
      : h('span', { class: 'evidence-quote' }, `“${e.quote}”`, h('span', { class: 'subtle' }, '（正文中未找到此引文）')))));
}

function transcriptPanel(transcript, index) {
  const mediaUrl = transcript.media_url ?? null;
  const status = h('p', { class: 'player-status subtle', id: `player-status-${index}` });
  const player = mediaUrl
    ? h(/\.(mp4|webm|mov)(\?|$)/i.test(mediaUrl) ? 'video' : 'audio', { controls: true, preload: 'metadata', src: mediaUrl, class: 'player' })
    : null;
  status.textContent = player ? '' : '媒体文件不在看板中播放：点击时间戳可查看该段在原始音视频中的位置。';
  const seek = (segment) => {
    if (player) {
      player.currentTime = segment.start;
      player.play().catch(() => { status.textContent = `已定位到 ${formatClock(segment.start)}，请点击播放。`; });
    } else {
      status.textContent = `该段位于原始音视频的 ${formatClock(segment.start)} – ${formatClock(segment.end)}（第 ${segment.start.toFixed(1)} 秒起）。`;
    }
  };
  return h('section', { class: 'panel transcript', dataset: { media: transcript.media_sha256 } },
    h('h2', {}, '音视频转写', h('span', { class: 'subtle' },
      ` ${transcript.language ?? ''}${transcript.duration_s ? ` · 时长 ${formatClock(transcript.duration_s)}` : ''}`)),
    player, status,
    h('ol', { class: 'segments' }, transcript.segments.map((segment) => h('li', { class: segment.reliable === false ? 'segment unreliable' : 'segment' },
      h('button', { type: 'button', class: 'timestamp', dataset: { start: segment.start }, onclick: () => seek(segment) }, formatClock(segment.start)),
      h('span', { class: 'segment-text' }, segment.text),
      segment.reliable === false ? h('span', { class: 'badge badge-quiet', title: (segment.flags ?? []).join('，') }, '识别不可靠，未用于分析') : null))));
}

function storyPanel(detail) {
  if (detail.story.length <= 1) return null;
  return h('section', { class: 'panel' }, h('h2', {}, `同一报道簇（${detail.story.length} 篇）`),
    h('ol', { class: 'story-members' }, detail.story.map((m, i) => h('li', { class: m.id === detail.id ? 'current' : '' },
      i === 0 ? h('span', { class: 'badge badge-first' }, '首发') : h('span', { class: 'badge badge-quiet' }, DUPLICATE_LABEL[m.duplicate_kind] ?? '转载'),
      ' ', m.id === detail.id ? h('strong', {}, m.title) : h('a', { href: `#/documents/${encodeURIComponent(m.id)}` }, m.title),
      h('span', { class: 'subtle' }, ` ${m.source} · ${formatDateTime(m.published_at)}`)))));
}

function feedbackPanel(detail, view) {
  const form = h('form', { class: 'feedback-form' },
    h('label', { class: 'field' }, h('span', {}, '纠正项'),
      h('select', { name: 'field' }, h('option', { value: 'sentiment' }, '整体情感'), h('option', { value: 'risk' }, '风险等级'))),
    h('label', { class: 'field' }, h('span', {}, '正确标注'),
      h('select', { name: 'new_value' },
        Object.entries(SENTIMENT_LABEL).map(([v, t]) => h('option', { value: v }, t)),
        Object.entries(RISK_LABEL).map(([v, t]) => h('option', { value: v, hidden: true }, t)))),
    h('label', { class: 'field field-wide' }, h('span', {}, '说明（可选）'), h('input', { name: 'comment', maxlength: 2000 })),
    h('button', { type: 'submit', class: 'button' }, '提交纠正'),
    h('p', { class: 'subtle feedback-status', role: 'status' }));
  const syncValues = () => {
    const risk = form.elements.field.value === 'risk';
    for (const option of form.elements.new_value.options) option.hidden = risk !== (option.value in RISK_LABEL);
    form.elements.new_value.value = risk ? 'medium' : 'neutral';
  };
  form.elements.field.addEventListener('change', syncValues);
  syncValues();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const status = form.querySelector('.feedback-status');
    try {
      await request('/feedback', {}, { method: 'POST', body: { doc_id: detail.id, field: data.get('field'), new_value: data.get('new_value'), comment: data.get('comment') } });
      status.textContent = '已记录，谢谢。';
      form.reset();
      syncValues();
    } catch (err) {
      status.textContent = err.status === 403 ? '该密钥只能查看，提交纠正需要写权限的密钥。' : `提交失败：${err.message}`;
    }
  });
  return h('section', { class: 'panel' }, h('h2', {}, '标注纠正'),
    detail.feedback?.length
      ? h('ul', { class: 'plain-list' }, detail.feedback.map((f) => h('li', {},
        `${formatDateTime(f.created_at)} ${f.created_by}：${f.field} ${f.old_value ?? '—'} → ${f.new_value}${f.comment ? `（${f.comment}）` : ''}`)))
      : null,
    form);
}

export async function renderDocument(view, { args: [docId] }) {
  const detail = await request(`/documents/${encodeURIComponent(docId)}`);
  const analysis = detail.analysis;
  const evidence = evidenceOf(detail);
  fill(view, 
    h('div', { class: 'view-head' },
      h('a', { class: 'back', href: '#/documents', onclick: (event) => { if (history.length > 1) { event.preventDefault(); history.back(); } } }, '← 返回'),
      h('h1', { class: 'doc-heading' }, detail.title || '（无标题）'),
      h('p', { class: 'subtle' }, `${detail.source} · ${formatDateTime(detail.published_at)} · `,
        /^https?:\/\//i.test(detail.url) // a crawled URL is data: never let it become a javascript: link
          ? h('a', { href: detail.url, target: '_blank', rel: 'noopener noreferrer' }, '原文链接')
          : detail.url)),
    h('section', { class: 'doc-labels' },
      sentimentBadge(analysis?.sentiment), riskBadge(analysis?.risk),
      analysis ? h('span', { class: 'subtle' }, `得分 ${analysis.score.toFixed(2)} · ${analysis.analyzer} ${analysis.analyzer_version}${analysis.low_confidence ? ' · 低置信度' : ''}`) : null,
      targetsPanel(analysis)),
    analysis?.summary && analysis.summary !== detail.title ? h('p', { class: 'summary' }, analysis.summary) : null,
    analysis?.keywords?.length ? h('p', { class: 'keywords' }, analysis.keywords.map((k) => h('span', { class: 'keyword' }, k))) : null,
    h('div', { class: 'doc-columns' },
      h('article', { class: 'panel doc-text', id: 'doc-text' }, h('h2', {}, '正文'), h('div', { class: 'text-body' }, highlightText(detail.text, evidence))),
      h('aside', { class: 'doc-side' },
        h('section', { class: 'panel' }, h('h2', {}, '证据引文'), evidenceList(evidence)),
        detail.transcripts.map(transcriptPanel),
        storyPanel(detail),
        detail.quality_issues?.length ? h('section', { class: 'panel' }, h('h2', {}, '质量提示'), h('ul', { class: 'plain-list' }, detail.quality_issues.map((q) => h('li', {}, q)))) : null,
        feedbackPanel(detail, view))),
  );
}
