// The live page's script: one snapshot per interval over server-sent events (polling when they fail),
// drawn with uPlot and plain DOM. Everything user-controlled goes through textContent, never HTML.
/* global uPlot */

const base = new URL('../', import.meta.url).pathname.replace(/\/$/, '');
const $ = (id) => document.getElementById(id);
const charts = {};
let selectedTrace = null;
let lastSnapshot = null;

// ---- formatting

const fmt = (n, digits = 3) =>
  n === null || n === undefined
    ? '–'
    : Number(n)
        .toPrecision(digits)
        .replace(/\.?0+$/, '');
const pct = (n) => (n === null || n === undefined ? '–' : `${(n * 100).toFixed(1)}%`);
const secs = (n) =>
  n === null || n === undefined ? '–' : n < 1 ? `${fmt(n * 1000)} ms` : `${fmt(n)} s`;
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows, render) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...rows.map(render));
}

function statusClass(status) {
  if (status === 'pass' || status === 'ok') return 'ok';
  if (status === 'warn' || status === 'pending' || status === 'acknowledged') return 'warn';
  return 'bad';
}

// ---- charts

function chart(id, series, scale) {
  const el = $(id);
  const opts = {
    width: Math.max(300, el.clientWidth - 8),
    height: 170,
    legend: { live: false },
    scales: { x: { time: true }, y: scale ?? {} },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5 }))],
    axes: [{}, { size: 50 }],
  };
  charts[id] = {
    plot: new uPlot(opts, [[], ...series.map(() => [])], el),
    keys: series.map((s) => s.key),
  };
}

function setupCharts() {
  chart('chart-rps', [{ key: 'rps', label: 'req/s', color: '#6366f1' }]);
  chart('chart-errors', [{ key: 'errorRatio', label: '5xx ratio', color: '#b91c1c' }], {
    range: (_u, _min, max) => [0, Math.max(0.05, max ?? 0)],
  });
  chart('chart-latency', [
    { key: 'p50', label: 'p50', color: '#0ea5e9' },
    { key: 'p95', label: 'p95', color: '#f59e0b' },
    { key: 'p99', label: 'p99', color: '#b91c1c' },
  ]);
  chart('chart-inflight', [{ key: 'inFlight', label: 'in flight', color: '#15803d' }]);
}

function drawCharts(series) {
  for (const { plot, keys } of Object.values(charts)) {
    plot.setData([series.t, ...keys.map((k) => series[k])]);
  }
}

// ---- sections

function drawRoutes(routes) {
  const sorted = [...routes].sort((a, b) => b.rps - a.rps || b.total - a.total);
  fill('routes', sorted, (r) => {
    const tr = document.createElement('tr');
    const errClass = r.errorRatio > 0.05 ? 'num bad' : 'num';
    tr.append(
      cell(r.method),
      cell(r.route),
      cell(fmt(r.rps), 'num'),
      cell(pct(r.errorRatio), errClass),
      cell(secs(r.p50), 'num'),
      cell(secs(r.p95), 'num'),
      cell(secs(r.p99), 'num'),
      cell(r.total, 'num'),
    );
    return tr;
  });
}

function drawRateLimits(items) {
  fill('ratelimits', items, (r) => {
    const tr = document.createElement('tr');
    tr.append(
      cell(r.policy),
      cell(r.result, r.result === 'allowed' ? 'ok' : 'bad'),
      cell(fmt(r.rps), 'num'),
      cell(r.total, 'num'),
    );
    return tr;
  });
}

function drawBusiness(items) {
  fill('business', items, (b) => {
    const tr = document.createElement('tr');
    const name = cell(b.name);
    name.title = b.help;
    tr.append(
      name,
      cell(fmt(b.value, 6), 'num'),
      cell(b.rps === null ? '' : fmt(b.rps), 'num'),
      cell(b.series.map((s) => `${s.labels || '–'}: ${fmt(s.value, 6)}`).join('  ')),
    );
    return tr;
  });
}

const NO_ALERT = 'No active alert.';

async function alertAction(api, fingerprint, action, button) {
  button.disabled = true;
  // The page's own actions (`${base}/alerts`) take no body and answer behind the page's token; the
  // alerts API (`/alerts`) takes its parameters as JSON.
  const own = api !== '/alerts';
  const params =
    action === 'acknowledge'
      ? { acknowledged_by: 'live-page' }
      : { duration_minutes: '60', created_by: 'live-page' };
  try {
    const res = await fetch(
      `${api}/${fingerprint}/${action}${own && action === 'silence' ? '?minutes=60' : ''}`,
      {
        method: 'POST',
        ...(own
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) }),
      },
    );
    $('alerts-note').textContent = res.ok
      ? `${action}: done`
      : `${action}: ${own ? 'the page' : 'the alerts API'} answered ${res.status}${res.status === 401 && !own ? ' (it needs its own token)' : ''}`;
  } catch {
    $('alerts-note').textContent = `${action}: no answer`;
  }
}

function drawAlerts(alerts) {
  $('alerts-section').hidden = alerts === null;
  if (alerts === null) return;
  const note = $('alerts-note');
  if (alerts.items.length === 0 && !note.textContent) note.textContent = NO_ALERT;
  // The note says there is none only while there is none; an action's answer stays.
  if (alerts.items.length > 0 && note.textContent === NO_ALERT) note.textContent = '';
  fill('alerts', alerts.items, (a) => {
    const tr = document.createElement('tr');
    tr.dataset.fingerprint = a.fingerprint;
    const status = a.acknowledged && a.status === 'firing' ? 'acknowledged' : a.status;
    const actions = document.createElement('td');
    for (const [action, label] of [
      ['acknowledge', 'Acknowledge'],
      ['silence', 'Silence 1 h'],
    ]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.className = `alert-${action}`;
      b.disabled = action === 'acknowledge' && a.acknowledged;
      b.addEventListener('click', () => void alertAction(alerts.api, a.fingerprint, action, b));
      actions.append(b);
    }
    tr.append(
      cell(a.alertname),
      cell(a.severity),
      cell(status, `alert-status ${statusClass(status)}`),
      cell(time(a.startsAt)),
      cell(a.summary),
      actions,
    );
    return tr;
  });
}

function drawTraces(traces) {
  $('traces-section').hidden = traces === null;
  if (traces === null) return;
  fill('traces', traces.recent, (t) => {
    const tr = document.createElement('tr');
    if (t.traceId === (selectedTrace ?? traces.waterfall?.traceId)) tr.className = 'selected';
    tr.append(
      cell(t.rootName, t.error ? 'bad' : ''),
      cell(t.services.join(', ')),
      cell(t.spanCount, 'num'),
      cell(fmt(t.durationMs), 'num'),
    );
    tr.addEventListener('click', () => void selectTrace(t.traceId));
    return tr;
  });
  if (selectedTrace === null && traces.waterfall) drawWaterfall(traces.waterfall);
}

async function selectTrace(traceId) {
  selectedTrace = traceId;
  try {
    const res = await fetch(`${base}/trace/${traceId}`);
    if (res.ok) drawWaterfall({ traceId, spans: await res.json() });
  } catch {
    // The next snapshot shows the latest trace again.
  }
  if (lastSnapshot) drawTraces(lastSnapshot.traces);
}

/** Spans as rows in tree order (children under their parent), bars placed on the trace's time line. */
function drawWaterfall({ traceId, spans }) {
  $('waterfall-title').textContent = `Waterfall ${traceId.slice(0, 16)}…`;
  const start = Math.min(...spans.map((s) => s.startTimeMs));
  const end = Math.max(...spans.map((s) => s.startTimeMs + s.durationMs));
  const total = Math.max(end - start, 0.001);
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const services = [...new Set(spans.map((s) => s.service))];
  const rows = [];
  const walk = (parent, depth) => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => a.startTimeMs - b.startTimeMs)) {
      rows.push({ s, depth });
      walk(s.spanId, depth + 1);
    }
  };
  walk(null, 0);
  $('waterfall').replaceChildren(
    ...rows.map(({ s, depth }) => {
      const row = document.createElement('div');
      row.className = 'span-row';
      row.dataset.service = s.service;
      const label = document.createElement('div');
      label.className = 'span-label';
      label.textContent = `${'\u00a0\u00a0'.repeat(depth)}${s.service} · ${s.name}`;
      label.title = `${s.kind} ${fmt(s.durationMs)} ms`;
      const track = document.createElement('div');
      track.className = 'span-track';
      const bar = document.createElement('div');
      bar.className = `span-bar svc-${services.indexOf(s.service) % 4}${s.status === 'error' ? ' error' : ''}`;
      // CSSOM properties, not a style attribute: allowed by the page's style-src 'self'.
      bar.style.left = `${((s.startTimeMs - start) / total) * 100}%`;
      bar.style.width = `${(s.durationMs / total) * 100}%`;
      bar.title = `${fmt(s.durationMs)} ms`;
      track.append(bar);
      row.append(label, track);
      return row;
    }),
  );
}

function drawAudit(events) {
  $('audit-section').hidden = events === null;
  if (events === null) return;
  fill('audit', [...events].reverse(), (e) => {
    const tr = document.createElement('tr');
    tr.append(
      cell(time(e.time)),
      cell(e.type),
      cell(e.outcome, e.outcome === 'success' ? 'ok' : 'warn'),
      cell(e.actor),
      cell(e.resource),
    );
    return tr;
  });
}

function drawHealth(health) {
  $('health-section').hidden = health === null;
  if (health === null) return;
  const rows = [];
  for (const probe of ['live', 'ready']) {
    const p = health[probe];
    if (!p) continue;
    rows.push({ probe, name: '(probe)', status: p.status });
    for (const c of p.checks) rows.push({ probe, name: c.name, status: c.status });
  }
  fill('health', rows, (r) => {
    const tr = document.createElement('tr');
    tr.append(
      cell(r.probe),
      cell(r.name),
      cell(r.status, `health-status ${statusClass(r.status)}`),
    );
    return tr;
  });
  const ready = health.ready?.status;
  $('health-badge').textContent = ready ? `ready: ${ready}` : '';
  $('health-badge').className = `badge ${ready ? statusClass(ready) : ''}`;
}

function draw(s) {
  lastSnapshot = s;
  $('service').textContent = s.service;
  $('inflight').textContent = `in flight: ${s.inFlight}`;
  drawCharts(s.series);
  drawRoutes(s.routes);
  drawRateLimits(s.rateLimits);
  drawBusiness(s.business);
  drawAlerts(s.alerts);
  drawTraces(s.traces);
  drawAudit(s.audit);
  drawHealth(s.health);
  // For tests and the curious: how many snapshots arrived, and when the first one did.
  document.body.dataset.firstSnapshotMs ??= String(Math.round(performance.now()));
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
}

// ---- transport: server-sent events, polling when they are not available

function connect() {
  if (!('EventSource' in window)) return poll();
  const source = new EventSource(`${base}/events`);
  source.addEventListener('open', () => {
    $('conn').textContent = 'live';
    $('conn').className = 'badge ok';
  });
  source.addEventListener('snapshot', (e) => draw(JSON.parse(e.data)));
  source.addEventListener('error', () => {
    $('conn').textContent = 'reconnecting';
    $('conn').className = 'badge warn';
    // A closed stream (503: too many clients) is not retried by the browser: poll instead.
    if (source.readyState === EventSource.CLOSED) poll();
  });
}

async function poll() {
  $('conn').textContent = 'polling';
  $('conn').className = 'badge warn';
  for (;;) {
    try {
      const res = await fetch(`${base}/snapshot`);
      if (res.ok) draw(await res.json());
    } catch {
      // Try again at the next interval.
    }
    await new Promise((resolve) => setTimeout(resolve, lastSnapshot?.intervalMs ?? 2000));
  }
}

setupCharts();
connect();
