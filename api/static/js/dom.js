// Building DOM from data: text always goes in as textContent, so document text can never become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

// Replace everything in `el` (null, false and undefined children are skipped, as in h()).
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function emptyState(text) {
  return h('p', { class: 'empty' }, text);
}

export function loading(text = '加载中…') {
  return h('p', { class: 'loading' }, text);
}
