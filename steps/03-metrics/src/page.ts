export interface PageData {
  version: string;
  hostname: string;
  hits: number | undefined;
  redisReady: boolean;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPage({ version, hostname, hits, redisReady }: PageData): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Hits</title>
<style>
body{font-family:system-ui,sans-serif;margin:3rem;color:#222}
dt{color:#777}dd{font-size:1.6rem;margin:0 0 1rem}
</style>
</head>
<body>
<h1>Hello from a container</h1>
<dl>
<dt>hits</dt><dd id="hits">${hits === undefined ? 'unknown' : hits}</dd>
<dt>served by</dt><dd id="hostname">${escape(hostname)}</dd>
<dt>version</dt><dd id="version">${escape(version)}</dd>
<dt>redis</dt><dd id="redis">${redisReady ? 'connected' : 'unavailable'}</dd>
</dl>
</body>
</html>
`;
}
