// Chinese labels and number/date formatting shared by the views.

export const SENTIMENT_LABEL = { positive: '正面', neutral: '中性', negative: '负面' };
export const RISK_LABEL = { low: '低风险', medium: '中风险', high: '高风险' };
export const DUPLICATE_LABEL = { exact: '全文转载', near: '改写转载' };

const dateFormatter = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
});
const dateTimeFormatter = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});

const hourFormatter = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', hour: 'numeric', hour12: false,
});

// Shown in Beijing time: the newsroom's clock, whatever the analyst's laptop says.
export function formatDate(iso) {
  return iso ? dateFormatter.format(new Date(iso)) : '—';
}

export function formatDateTime(iso) {
  return iso ? dateTimeFormatter.format(new Date(iso)) : '—';
}

// "11/12 10时" for an hourly chart's axis.
export function formatHour(iso) {
  return hourFormatter.format(new Date(iso));
}

export function formatPercent(share, digits = 0) {
  return share === null || share === undefined || Number.isNaN(share) ? '—' : `${(share * 100).toFixed(digits)}%`;
}

export function formatCount(n) {
  return n === null || n === undefined ? '—' : n.toLocaleString('zh-CN');
}

// 83.4 -> "01:23"; an hour or more -> "1:02:03".
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const ss = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

// A span of time between two ISO instants, in words an analyst reads at a glance.
export function formatSpan(startIso, endIso) {
  if (!startIso || !endIso) return '—';
  const minutes = Math.round((new Date(endIso) - new Date(startIso)) / 60000);
  if (minutes < 1) return '同时';
  if (minutes < 60) return `${minutes} 分钟`;
  const hours = minutes / 60;
  if (hours < 48) return `${hours.toFixed(hours < 10 ? 1 : 0)} 小时`;
  return `${Math.round(hours / 24)} 天`;
}

// Change of `current` against `previous` as text and a direction for colouring.
export function describeChange(current, previous) {
  if (!previous) return current ? { text: '新出现', direction: 'up' } : { text: '持平', direction: 'flat' };
  const ratio = (current - previous) / previous;
  if (Math.abs(ratio) < 0.005) return { text: '持平', direction: 'flat' };
  const sign = ratio > 0 ? '+' : '−';
  return { text: `${sign}${Math.abs(ratio * 100).toFixed(0)}%`, direction: ratio > 0 ? 'up' : 'down' };
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return isoDay(d);
}
