// Shared by steady.js and ramp.js: target, thresholds, the request, and the end-of-test summary
// (a short text on stdout plus the full JSON), so each script only states its load shape.
import http from 'k6/http';
import { check } from 'k6';

// The app under test. Load only ever goes to this machine's loopback: refuse anything else
// before a single request is sent (a typo must not load someone else's server).
export const TARGET = (__ENV.TARGET || 'http://127.0.0.1:8080').replace(/\/+$/, '');
if (!/^https?:\/\/(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?$/.test(TARGET)) {
  throw new Error(`TARGET must be a loopback URL like http://127.0.0.1:8080, got "${TARGET}"`);
}

// The path each iteration requests: the load-dependent /slow unless ENDPOINT says otherwise
// (the metrics benchmark loads `/`).
export const ENDPOINT = __ENV.ENDPOINT || '/slow';
if (!ENDPOINT.startsWith('/'))
  throw new Error(`ENDPOINT must be a path like /slow, got "${ENDPOINT}"`);

// intEnv NAME DEFAULT: a positive integer from the environment.
export function intEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export const thresholds = {
  http_req_duration: ['p(95)<100'],
  http_req_failed: ['rate<0.01'],
};

// options(SCENARIO): the k6 options of a script with one scenario running hitSlow.
// gracefulStop bounds the end of the run even when the app is very slow.
export function options(scenario) {
  return {
    scenarios: { slow: { gracefulStop: '5s', ...scenario } },
    thresholds,
    discardResponseBodies: true,
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  };
}

// One iteration: a single GET of ENDPOINT (/slow), no sleep, so every VU is a closed loop (a new request as soon
// as the previous one answered): `while true; do curl /slow; done`.
// A failed request says why (status or network error), a few times per VU so a dead app
// doesn't flood the terminal: "503" and "connection reset" point at different fixes.
let failuresShown = 0;
export function hitSlow(params = {}) {
  const res = http.get(`${TARGET}${ENDPOINT}`, { tags: { name: `GET ${ENDPOINT}` }, ...params });
  const ok = check(res, { 'status is 200': (r) => r.status === 200 });
  if (!ok && failuresShown < 5) {
    failuresShown += 1;
    console.warn(
      `failed: GET ${ENDPOINT} -> ${res.status ? `status ${res.status}` : `no response (${res.error})`}`,
    );
  }
  return res;
}

const ms = (v) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);

// text(NAME, SHAPE, DATA, OK, FILE): the plain-text summary (k6's textSummary needs a remote jslib).
function text(name, shape, data, ok, file) {
  const m = data.metrics;
  const reqs = m.http_reqs ? m.http_reqs.values : { count: 0, rate: 0 };
  const d = m.http_req_duration ? m.http_req_duration.values : {};
  const failed = m.http_req_failed ? m.http_req_failed.values : { rate: 0, passes: 0 };
  const lines = [
    '',
    `${name}: GET ${TARGET}${ENDPOINT}, ${shape}`,
    `  requests   ${reqs.count} (${reqs.rate.toFixed(1)}/s), failed ${failed.passes} (${(failed.rate * 100).toFixed(2)}%)`,
    `  duration   p50 ${ms(d.med)}  p90 ${ms(d['p(90)'])}  p95 ${ms(d['p(95)'])}  p99 ${ms(d['p(99)'])}  max ${ms(d.max)}`,
    `  max VUs    ${m.vus_max ? m.vus_max.values.max : '-'}`,
    '  thresholds',
  ];
  for (const [metric, { thresholds: th }] of Object.entries(m).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    for (const [expr, { ok: held }] of Object.entries(th || {})) {
      lines.push(`    ${held ? 'ok  ' : 'FAIL'} ${metric} ${expr}`);
    }
  }
  lines.push(`  result     ${ok ? 'PASS' : 'FAIL (k6 exits with 99)'}`, `  summary    ${file}`, '');
  return lines.join('\n');
}

// summary(NAME, SHAPE, FILE): a handleSummary writing the JSON to $SUMMARY, or by default to
// FILE (relative to this folder, so the default works from any working directory).
export function summary(name, shape, file) {
  const resolved = import.meta.resolve(`./${file}`);
  const out =
    __ENV.SUMMARY ||
    (resolved.startsWith('file://') ? decodeURIComponent(resolved.slice(7)) : `load/${file}`);
  return (data) => {
    const ok = Object.values(data.metrics).every((mt) =>
      Object.values(mt.thresholds || {}).every((t) => t.ok),
    );
    const json = { kit: { script: name, target: TARGET, shape, thresholds_ok: ok }, ...data };
    return { stdout: text(name, shape, data, ok, out), [out]: JSON.stringify(json, null, 2) };
  };
}
