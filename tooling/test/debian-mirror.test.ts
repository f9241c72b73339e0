/** tooling/install/debian-mirror.sh: debootstrap's archive, read from this machine's apt sources. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KIT_ROOT } from '@kit/testkit';

const execFileAsync = promisify(execFile);

describe("tooling/install/debian-mirror.sh: debootstrap's archive from this machine's apt sources", () => {
  let etc: string;
  beforeEach(() => {
    etc = mkdtempSync(join(tmpdir(), 'kit-apt-'));
    mkdirSync(join(etc, 'sources.list.d'));
  });
  afterEach(() => rmSync(etc, { recursive: true, force: true }));
  const mirror = (env: Record<string, string> = {}) =>
    execFileAsync(`${KIT_ROOT}/tooling/install/debian-mirror.sh`, ['bookworm'], {
      env: { ...process.env, KIT_DEBIAN_MIRROR: '', KIT_APT_ETC: etc, ...env },
    });
  const write = (name: string, text: string) => writeFileSync(join(etc, name), text);

  test('one-line sources.list: the first deb entry of the suite itself with main (not -security, -updates, deb-src, comments)', async () => {
    write(
      'sources.list',
      [
        '# deb http://commented.example.test/debian bookworm main',
        'deb-src http://source.example.test/debian bookworm main',
        'deb http://security.example.test/debian-security bookworm-security main',
        'deb http://updates.example.test/debian bookworm-updates main',
        'deb http://contrib-only.example.test/debian bookworm contrib',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://apt.example.test/debian/ bookworm main contrib',
        'deb http://second.example.test/debian bookworm main',
      ].join('\n'),
    );
    expect((await mirror()).stdout).toBe('http://apt.example.test/debian\n');
  });

  test('deb822 .sources (as Debian 12 installs it): Enabled: no is skipped, the first http URI of a stanza is taken', async () => {
    write(
      'sources.list.d/debian.sources',
      [
        'Types: deb',
        'URIs: http://disabled.example.test/debian',
        'Suites: bookworm',
        'Components: main',
        'Enabled: no',
        '',
        'Types: deb deb-src',
        '# a comment inside the stanza',
        'URIs: mirror+file:///etc/apt/mirrors.txt',
        ' http://proxy.example.test:3142/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main non-free-firmware',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
        'Types: deb',
        'URIs: http://proxy.example.test:3142/debian-security',
        'Suites: bookworm-security',
        'Components: main',
      ].join('\n'),
    );
    write(
      'sources.list.d/other.sources.disabled',
      'Types: deb\nURIs: http://ignored.example.test/debian\nSuites: bookworm\nComponents: main\n',
    );
    expect((await mirror()).stdout).toBe('http://proxy.example.test:3142/debian\n');
  });

  test('sources.list comes before sources.list.d, and a .list file there counts too', async () => {
    write('sources.list.d/local.list', 'deb http://list-d.example.test/debian bookworm main\n');
    expect((await mirror()).stdout).toBe('http://list-d.example.test/debian\n');
    write('sources.list', 'deb http://first.example.test/debian bookworm main\n');
    expect((await mirror()).stdout).toBe('http://first.example.test/debian\n');
  });

  test('KIT_DEBIAN_MIRROR overrides; with no source for the suite, deb.debian.org, said on stderr', async () => {
    write('sources.list', 'deb http://archive.example.test/ubuntu jammy main\n');
    expect(
      (await mirror({ KIT_DEBIAN_MIRROR: 'http://override.example.test/debian' })).stdout,
    ).toBe('http://override.example.test/debian\n');
    const fallback = await mirror();
    expect(fallback.stdout).toBe('http://deb.debian.org/debian\n');
    expect(fallback.stderr).toContain(
      `no 'deb' source for bookworm main in ${etc}: debootstrap uses http://deb.debian.org/debian (set KIT_DEBIAN_MIRROR=URL to choose)`,
    );
  });
});
