// Evidence quotes marked in the document text by their offsets.
// Offsets come from Python and count code points, so the text is indexed as an array of code points, not UTF-16 units.

import { h } from './dom.js';

// Where each quote sits in `text`: its own offsets when they still match, else the first place the quote occurs
// (the text may have been re-cleaned since the analysis), else nowhere (found: false).
export function locateEvidence(text, evidence) {
  const chars = Array.from(text);
  return evidence.map((item) => {
    const quoteChars = Array.from(item.quote);
    if (chars.slice(item.start, item.end).join('') === item.quote) return { ...item, found: true };
    const at = text.indexOf(item.quote);
    if (at < 0) return { ...item, found: false };
    const start = Array.from(text.slice(0, at)).length;
    return { ...item, start, end: start + quoteChars.length, found: true, moved: true };
  });
}

// The text with every located span wrapped in <mark>; overlapping spans merge, negative wins the colour.
export function highlightText(text, spans) {
  const chars = Array.from(text);
  const located = spans.filter((s) => s.found && s.end > s.start);
  const cuts = new Set([0, chars.length]);
  for (const span of located) {
    cuts.add(Math.min(span.start, chars.length));
    cuts.add(Math.min(span.end, chars.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const fragment = document.createDocumentFragment();
  for (let i = 0; i < points.length - 1; i += 1) {
    const [from, to] = [points[i], points[i + 1]];
    const piece = chars.slice(from, to).join('');
    const covering = located.filter((s) => s.start <= from && s.end >= to);
    if (!covering.length) {
      fragment.append(piece);
      continue;
    }
    const sentiment = ['negative', 'positive', 'neutral'].find((s) => covering.some((c) => c.sentiment === s)) ?? 'neutral';
    const ids = covering.map((c) => c.id);
    fragment.append(
      h('mark', { class: `evidence evidence-${sentiment}`, dataset: { evidence: ids.join(' ') }, title: covering.map((c) => c.label).join('；') }, piece),
    );
  }
  return fragment;
}
