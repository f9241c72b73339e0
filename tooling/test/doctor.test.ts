/** `./kit doctor`: what is missing, one line each, with the fix. */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { KIT_ROOT } from '@kit/testkit';

const execFileAsync = promisify(execFile);

describe('./kit doctor: what is missing, one line each, with the fix', () => {
  const scratch: string[] = [];
  afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** PATH as it is, less the named programs (each PATH folder that has one becomes a folder of links to the rest). */
  const pathWithout = (...missing: string[]) =>
    (process.env.PATH ?? '')
      .split(delimiter)
      .map((dir) => {
        if (!missing.some((name) => existsSync(join(dir, name)))) return dir;
        const copy = mkdtempSync(join(tmpdir(), 'kit-path-'));
        scratch.push(copy);
        for (const name of readdirSync(dir))
          if (!missing.includes(name)) symlinkSync(join(dir, name), join(copy, name));
        return copy;
      })
      .join(delimiter);
  const doctor = (env: Record<string, string>) =>
    execFileAsync(`${KIT_ROOT}/kit`, ['doctor'], { env: { ...process.env, ...env } });
  const lineOf = (stdout: string, label: string) =>
    stdout.split('\n').find((line) => line.replace(/^\S+\s+/, '').startsWith(`${label}:`));

  test('no kubectl, kind, k3d or minikube on PATH, and the port held by a listener: each one line with the fix, exit 0 (all optional)', async () => {
    const listener = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    const port = String((listener.address() as AddressInfo).port);
    try {
      const { stdout } = await doctor({
        PATH: pathWithout('kubectl', 'kind', 'k3d', 'minikube'),
        PORT: port,
      });
      expect(lineOf(stdout, 'kubectl')).toMatch(
        /^warn +kubectl: +not on PATH: .*install it: https:\/\/kubernetes\.io\/docs\/tasks\/tools\/$/,
      );
      expect(lineOf(stdout, 'kind')).toMatch(
        /^info +kind: +not installed \(only for a kind cluster: https:\/\/kind\.sigs\.k8s\.io\/\S+\)$/,
      );
      expect(lineOf(stdout, 'k3d')).toMatch(/^info +k3d: +not installed/);
      expect(lineOf(stdout, 'minikube')).toMatch(/^info +minikube: +not installed/);
      expect(lineOf(stdout, `port ${port}`)).toMatch(
        new RegExp(
          `^warn +port ${port}: +busy, held by \\S+ \\(pid ${process.pid}\\): stop it, or choose another port: PORT=8081 ./kit up$`,
        ),
      );
      expect(lineOf(stdout, 'Docker')).toMatch(
        /^ok +Docker: +engine \S+, CPU architecture (x86_64|aarch64|amd64|arm64)$/,
      );
      expect(lineOf(stdout, 'disk (kit cache)')).toMatch(
        /^ok +disk \(kit cache\): +\d+ GiB free in .* \(the kit needs \d+\)$/,
      );
    } finally {
      listener.close();
    }
  });

  test('a free port is said to be free', async () => {
    const listener = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    const port = String((listener.address() as AddressInfo).port);
    await new Promise((resolve) => listener.close(resolve));
    expect(lineOf((await doctor({ PORT: port })).stdout, `port ${port}`)).toMatch(
      /^ok +port \d+: +free/,
    );
  });

  test('Docker not answering and too little disk: FAIL lines with the fix, exit 1', async () => {
    const failure = doctor({
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      KIT_MIN_FREE_GIB: '100000000',
    });
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stdout } = await failure.catch((err: { stdout: string }) => err);
    expect(lineOf(stdout, 'Docker')).toMatch(
      /^FAIL +Docker: +installed, but the engine does not answer: start Docker/,
    );
    expect(lineOf(stdout, 'disk (kit cache)')).toMatch(
      /^FAIL +disk \(kit cache\): +\d+ GiB free in .*, the kit needs 100000000: free some space/,
    );
  });

  test("a kind context without kind: FAIL, naming the load command; with kind's load command there: ok", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-kind-'));
    scratch.push(dir);
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: kind-talk',
        'clusters: [{name: kind-talk, cluster: {server: "https://127.0.0.1:1"}}]',
        'users: [{name: kind-talk, user: {token: not-a-secret}}]',
        'contexts: [{name: kind-talk, context: {cluster: kind-talk, user: kind-talk}}]',
      ].join('\n'),
    );
    const env = { KUBECONFIG: kubeconfig, PATH: pathWithout('kind') };
    const failure = doctor(env);
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stdout } = await failure.catch((err: { stdout: string }) => err);
    expect(lineOf(stdout, 'kubectl')).toMatch(
      /^warn +kubectl: +context kind-talk does not answer: start that cluster/,
    );
    expect(lineOf(stdout, 'kind')).toMatch(
      /^FAIL +kind: +context kind-talk needs 'kind load docker-image', which is missing: install kind \(https:/,
    );

    // A kind whose `load docker-image --help` works (a stand-in: the doctor asks nothing more of it).
    mkdirSync(join(dir, 'bin'));
    writeFileSync(
      join(dir, 'bin/kind'),
      '#!/bin/sh\n[ "$1 $2 $3" = "load docker-image --help" ]\n',
      { mode: 0o755 },
    );
    const withKind = await doctor({
      ...env,
      PATH: `${join(dir, 'bin')}${delimiter}${env.PATH}`,
    }).catch((err: { stdout: string }) => err);
    expect(lineOf(withKind.stdout, 'kind')).toMatch(
      /^ok +kind: +'kind load docker-image' is there$/,
    );

    // The kit's own kind cluster: the kit loads with the kind it built, so none of yours is needed.
    writeFileSync(
      kubeconfig,
      readFileSync(kubeconfig, 'utf8').replaceAll('kind-talk', 'kind-kube-selfops'),
    );
    const kit = await doctor(env).catch((err: { stdout: string }) => err);
    expect(lineOf(kit.stdout, 'kind')).toMatch(
      /^info +kind: +not installed \(only for a kind cluster: https:\/\/kind\.sigs\.k8s\.io\/\S+\)$/,
    );
  });
});
