/**
 * Runs `npm start`'s entry (`node infra/local/main.ts`, what the script execs) as a child process, as
 * an operator runs it, for the tests that must see the whole process: its output, its exit, and what
 * it leaves running. Every child started is killed after each test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterEach } from '@jest/globals';

const root = new URL('../../', import.meta.url).pathname;
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/**
 * Spawns the entry with `env` (nothing else of the test's environment but PATH and HOME). With
 * `forFile`, it serves the whole test file (the caller stops it in `afterAll`), not just this test.
 */
export function spawnNpmStart(env: Record<string, string | undefined>, forFile = false): StartedProcess {
  const child = spawn(process.execPath, ['infra/local/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!forFile) started.push(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Runs `npm start` with `env`; resolves once it has printed its whole start (its `ready` line). */
export async function npmStart(
  env: Record<string, string | undefined>,
  forFile = false,
): Promise<StartedProcess> {
  const started = spawnNpmStart(env, forFile);
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (started.output().includes('[wcs-hooks] ready')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    void started.exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`npm start exited ${code}:\n${started.output()}`));
    });
  });
  return started;
}

/** True while something accepts connections on `port` of the loopback. */
export const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
