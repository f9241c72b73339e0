// A stand-in for Prometheus, for `./kit bench scale` only: answers the operator's batched instant
// query (steps/04-operator/operator/src/prometheus.ts: {__name__=~"P95|RATE|IN_FLIGHT",namespace="NS",app=~"a|b|..."})
// with a p95 of 50 ms, 5 req/s and 0.25 requests in flight (5 x 0.05) for every app it names (so every LatencyScaler holds: the cost
// measured is the operator's, not that of its scale writes), and counts the queries.
// GET /stats -> {"queries": N, "apps_last": M}. Plain Node, no dependency: it runs in the node base image.
import { createServer } from 'node:http';

let queries = 0;
let appsLast = 0;
const unescape = (s) => s.replace(/\\(.)/g, '$1');

createServer((req, res) => {
  const url = new URL(req.url, 'http://stand-in');
  const send = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/stats') return send(200, { queries, apps_last: appsLast });
  if (url.pathname === '/-/ready') return send(200, {});
  if (url.pathname !== '/api/v1/query')
    return send(404, { status: 'error', error: 'only /api/v1/query' });
  queries++;
  const query = url.searchParams.get('query') ?? '';
  const namespace = /namespace="([^"]*)"/.exec(query)?.[1] ?? '';
  const names = /__name__=~"((?:[^"\\]|\\.)*)"/.exec(query)?.[1] ?? '';
  const apps = /app=~"((?:[^"\\]|\\.)*)"/.exec(query)?.[1] ?? '';
  const now = Date.now() / 1000;
  const appList = unescape(unescape(apps)).split('|').filter(Boolean); // PromQL string, then RE2 literal
  appsLast = appList.length;
  const result = [];
  for (const name of unescape(unescape(names)).split('|')) {
    const value = name.includes('p95') ? '0.05' : name.includes('in_flight') ? '0.25' : '5';
    for (const app of appList)
      result.push({ metric: { __name__: name, namespace, app }, value: [now, value] });
  }
  send(200, { status: 'success', data: { resultType: 'vector', result } });
}).listen(9090, () => console.log('stand-in Prometheus on :9090'));
