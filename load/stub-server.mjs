// A stand-in for the app, to try the load scripts without it: GET /slow answers 200 after
// DELAY_MS (default 20) ms of "work". With CONCURRENCY=N only N requests are worked on at once
// and the rest wait in a queue, so latency rises with load like one replica of the app; without
// it every request takes DELAY_MS. Listens on 127.0.0.1:PORT (default 8080; 0 = any free port)
// and prints its URL first. Usage:
//   DELAY_MS=20 PORT=18080 "$(tooling/install/node.sh)/node" load/stub-server.mjs
import http from 'node:http';

const delay = Number(process.env.DELAY_MS ?? 20);
const port = Number(process.env.PORT ?? 8080);
const slots = Number(process.env.CONCURRENCY ?? Infinity);
const queue = [];
let busy = 0;

function work(res) {
  busy += 1;
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    busy -= 1;
    if (queue.length > 0) work(queue.shift());
  }, delay);
}

const server = http.createServer((req, res) => {
  if (req.url !== '/slow') {
    res.writeHead(404).end('not found\n');
    return;
  }
  if (busy < slots) work(res);
  else queue.push(res);
});
// PORT=0 picks a free port; the first line printed is the URL to use as TARGET.
server.listen(port, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
  console.log(`stub: GET /slow answers after ${delay} ms, concurrency ${slots}`);
});
process.on('SIGTERM', () => process.exit(0));
