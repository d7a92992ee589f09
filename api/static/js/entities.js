// Entity numbers for a period and the one before it, from /entities and /entities/{id}.

import { request } from './api.js';
import { addDays } from './format.js';

// The period ends on the newest day any watched entity was mentioned, so a quiet morning (or an old demo data
// set) still shows the last full stretch of coverage; the page says which dates it covers.
export function periodEnding(entities, days) {
  const newest = entities.map((e) => e.last_mentioned).filter(Boolean).sort().at(-1);
  if (!newest) return null;
  return {
    since: addDays(newest, -(days - 1)),
    until: newest,
    previousSince: addDays(newest, -(2 * days - 1)),
    previousUntil: addDays(newest, -days),
    days,
  };
}

// Every day of [since, until], zero-filled, so charts keep a true time axis on quiet days.
export function fillDays(daily, since, until) {
  const byDate = new Map(daily.map((d) => [d.date, d]));
  const out = [];
  for (let day = since; day <= until; day = addDays(day, 1)) {
    out.push({ positive: 0, neutral: 0, negative: 0, ...byDate.get(day), date: day });
  }
  return out;
}

export async function loadOverview(days) {
  const all = await request('/entities');
  const period = periodEnding(all, days);
  if (!period) return { period: null, entities: all.map((e) => ({ ...e, previous: null, daily: [] })) };
  const [current, previous, reports] = await Promise.all([
    request('/entities', { since: period.since, until: period.until }),
    request('/entities', { since: period.previousSince, until: period.previousUntil }),
    Promise.all(all.map((e) => request(`/entities/${encodeURIComponent(e.entity_id)}`, { since: period.since, until: period.until, latest: 0 }))),
  ]);
  const previousById = new Map(previous.map((e) => [e.entity_id, e]));
  const dailyById = new Map(reports.map((r) => [r.entity_id, fillDays(r.daily, period.since, period.until)]));
  const entities = current.map((e) => ({
    ...e,
    previous: previousById.get(e.entity_id) ?? null,
    daily: dailyById.get(e.entity_id) ?? [],
  }));
  return { period, entities };
}

// The API's hourly counts (sparse, UTC hours) as every hour of the 48 ending with the window's last day.
export function fillHours(hourly, until) {
  const hourMs = 3600_000;
  const end = Date.parse(`${until}T23:00:00Z`);
  const earliest = Math.min(end - 47 * hourMs, ...hourly.map((x) => Date.parse(x.hour)));
  const byHour = new Map(hourly.map((x) => [Date.parse(x.hour), x]));
  const out = [];
  for (let t = earliest; t <= end; t += hourMs) {
    out.push({ positive: 0, neutral: 0, negative: 0, ...byHour.get(t), hour: new Date(t).toISOString() });
  }
  return out;
}
