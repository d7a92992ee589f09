// Talking to the report API: the analyst's key (localStorage, or once from #key=... in the URL) on every request.

const KEY_STORAGE = 'yuqing.apiKey';

// The key is missing, wrong, or lacks the scope: the page asks for another one.
export class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Any other failure, with the API's own message from its error envelope.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getKey() {
  return localStorage.getItem(KEY_STORAGE) || '';
}

export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key.trim());
  else localStorage.removeItem(KEY_STORAGE);
}

// `yuqing demo` prints a link with #key=...: keep the key, then drop it from the address bar and history.
export function takeKeyFromFragment() {
  const match = location.hash.match(/(?:^#|&)key=([^&]*)/);
  if (!match) return false;
  setKey(decodeURIComponent(match[1]));
  let rest = location.hash.replace(/(^#|&)key=[^&]*/, '$1').replace(/^#&/, '#');
  if (rest === '#' || rest === '') rest = '#/';
  history.replaceState(null, '', `${location.pathname}${location.search}${rest}`);
  return true;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body?.error?.message || response.statusText;
  } catch {
    return response.statusText || `HTTP ${response.status}`;
  }
}

// GET by default; `body` is sent as JSON (POST unless `method` says otherwise).
export async function request(path, params = {}, { method, body } = {}) {
  const key = getKey();
  if (!key) throw new AuthError(0, '');
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
  }
  let response;
  try {
    const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    response = await fetch(url, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `无法连接到接口（${err.message}）`);
  }
  if (response.status === 401) throw new AuthError(401, '密钥无效或已被吊销，请重新输入。');
  if (response.status === 403) throw new AuthError(403, `该密钥没有查看权限：${await errorMessage(response)}`);
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  return response.json();
}

// Save an export (CSV, XLSX, ...) that needs the key: a plain link could not send the Authorization header.
export async function download(path, params, filename) {
  const key = getKey();
  if (!key) throw new AuthError(0, '');
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params)) if (value) url.searchParams.set(name, String(value));
  const response = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
  if (response.status === 401) throw new AuthError(401, '密钥无效或已被吊销，请重新输入。');
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
