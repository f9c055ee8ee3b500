/**
 * Runs the operator CLI (`npm run cli -- ...`) as a user runs it, against the test run's DynamoDB
 * Local, without blocking this process: the hook server under test runs in it, and a blocked event
 * loop would let its idle keep-alive connections time out under the client.
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

/** `stdout` as JSON, when it is JSON (`--help` prints text). */
function parsed(stdout: string): unknown {
  try {
    return stdout ? JSON.parse(stdout) : undefined;
  } catch {
    return undefined;
  }
}

export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['infra/cli.ts', ...args],
      { cwd: root, env: { ...cliEnvironment(), TABLE_PREFIX: TEST_TABLE_PREFIX, ...env } },
      (error, stdout, stderr) =>
        resolve({
          status: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          json: parsed(stdout),
        }),
    );
  });
}

/**
 * This process's environment without what the local runtime it may run sets for itself
 * (`AWS_LAMBDA_MAX_CONCURRENCY`, `infra/local/invocations.ts`): the CLI runs no invocations, and
 * Powertools' logger, told they run at once, would look for the runtime's store it never makes.
 */
function cliEnvironment(): NodeJS.ProcessEnv {
  const { AWS_LAMBDA_MAX_CONCURRENCY: _runtimeOnly, ...rest } = process.env;
  return rest;
}
