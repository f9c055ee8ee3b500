/**
 * `npm run cli -- ...` as a user runs it, against the test run's DynamoDB Local, without blocking
 * this process: a hook server under test may run in it, and a blocked event loop would let its idle
 * keep-alive connections time out under the client.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_TABLE_PREFIX } from './constants.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the CLI printed, parsed: any JSON. */
  readonly json: ReturnType<typeof JSON.parse>;
}

/** Runs the CLI with `args`, its environment this process's plus `env`. */
export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['infra/cli.ts', ...args],
      { cwd: root, env: { ...process.env, TABLE_PREFIX: TEST_TABLE_PREFIX, ...env } },
      (error, stdout, stderr) =>
        resolve({
          status: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          json: stdout ? JSON.parse(stdout) : undefined,
        }),
    );
  });
}
