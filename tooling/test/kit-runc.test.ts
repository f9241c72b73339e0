/**
 * tooling/install/kit-runc: runc minus the capabilities the host cannot grant (tooling/install/docker.sh makes it
 * the default runtime of the engine the kit starts, where the host's bounding set lacks one).
 * First its spec edit, with a stand-in runc that records what it was given (KIT_RUNC) and a
 * bounding set named by the test (KIT_CAPBND); then the real thing: a --privileged container on
 * the kit's Docker engine, which is what kind's node needs.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KIT_ROOT, docker } from '@kit/testkit';

const execFileAsync = promisify(execFile);
const WRAPPER = `${KIT_ROOT}/tooling/install/kit-runc`;
const ALL = ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE', 'CAP_BPF'];
const caps = () => ({
  bounding: [...ALL],
  effective: [...ALL],
  permitted: [...ALL],
  ambient: [] as string[],
});
// This CI machine's bounding set: every capability up to CAP_CHECKPOINT_RESTORE (40) but CAP_SYS_RESOURCE (24).
const LACKS_SYS_RESOURCE = '000001fffeffffff';
const FULL = '000001ffffffffff';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kit-runc-'));
  // The stand-in runc: writes its arguments, then exits 0.
  writeFileSync(join(dir, 'runc'), `#!/bin/sh\necho "$@" >"${dir}/args"\n`);
  chmodSync(join(dir, 'runc'), 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const wrapper = (capbnd: string, ...args: string[]) =>
  execFileAsync(WRAPPER, args, {
    env: { ...process.env, KIT_RUNC: join(dir, 'runc'), KIT_CAPBND: capbnd },
  });
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

test('create: removes from the bundle spec exactly what the bounding set lacks, then runs runc with the same arguments', async () => {
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ociVersion: '1.0.2', process: { capabilities: caps() } }),
  );
  const args = [
    '--root',
    '/run/docker/runtime-runc/moby',
    '--log',
    'x.log',
    'create',
    '--bundle',
    dir,
    '--pid-file',
    'p',
    'abc',
  ];
  await wrapper(LACKS_SYS_RESOURCE, ...args);
  const spec = json(join(dir, 'config.json')) as {
    ociVersion: string;
    process: { capabilities: Record<string, string[]> };
  };
  const without = ALL.filter((cap) => cap !== 'CAP_SYS_RESOURCE');
  expect(spec.process.capabilities).toEqual({
    bounding: without,
    effective: without,
    permitted: without,
    ambient: [],
  });
  expect(spec.ociVersion).toBe('1.0.2');
  expect(readFileSync(join(dir, 'args'), 'utf8').trim()).toBe(args.join(' '));
});

test('exec: edits the --process file; other commands and a full bounding set change nothing', async () => {
  writeFileSync(join(dir, 'process.json'), JSON.stringify({ args: ['sh'], capabilities: caps() }));
  await wrapper(
    LACKS_SYS_RESOURCE,
    'exec',
    '--process',
    join(dir, 'process.json'),
    '--detach',
    'abc',
  );
  expect(
    (json(join(dir, 'process.json')).capabilities as Record<string, string[]>).bounding,
  ).not.toContain('CAP_SYS_RESOURCE');

  writeFileSync(join(dir, 'config.json'), JSON.stringify({ process: { capabilities: caps() } }));
  const before = readFileSync(join(dir, 'config.json'), 'utf8');
  await wrapper(FULL, 'create', '--bundle', dir, 'abc');
  await wrapper(LACKS_SYS_RESOURCE, 'start', 'abc');
  await wrapper(LACKS_SYS_RESOURCE, 'delete', '--force', 'abc');
  expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(before);
});

test("a --privileged container runs on the kit's engine, with every capability the host has and none it lacks", async () => {
  const hostBnd = BigInt(
    `0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`,
  );
  const status = await docker(
    'run',
    '--rm',
    '--privileged',
    'kube-selfops/debian:bookworm-minbase',
    'cat',
    '/proc/self/status',
  );
  const eff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)![1]}`);
  expect(eff & ~hostBnd).toBe(0n);
  const SYS_ADMIN = 1n << 21n;
  const NET_ADMIN = 1n << 12n;
  expect(eff & SYS_ADMIN).toBe(SYS_ADMIN);
  expect(eff & NET_ADMIN).toBe(NET_ADMIN);
});
