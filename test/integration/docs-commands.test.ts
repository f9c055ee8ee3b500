/**
 * Every `curl` in the docs runs as written against `npm start` (issue 26, first contact): the hooks'
 * "Try it" of docs/hooks.md first, in the order the docs give them, then every other one. Only the
 * address changes (`localhost:3000` becomes the test's port); the shell runs each line as pasted, with
 * `API_TOKEN` set as the docs say to start `npm start` (`secret`, docs/operations.md).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../infra/local/dynamodb-local.ts';
import { npmStart, type StartedProcess } from '../support/npm-start.ts';

const root = new URL('../../', import.meta.url).pathname;
const TOKEN = 'secret';

/** The `curl` commands of a Markdown file's `sh` blocks, continuation lines joined, in order. */
export function curlCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = (block[1] as string).replace(/\\\n\s*/g, ' ').split('\n');
    for (const line of lines.map((l) => l.trim())) if (line.startsWith('curl ')) commands.push(line);
  }
  return commands;
}

const docs = [
  'docs/hooks.md',
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'hooks.md')
    .map((f) => `docs/${f}`),
];
const commands = docs.flatMap((file) =>
  curlCommands(readFileSync(join(root, file), 'utf8')).map((command) => ({ file, command })),
);

let port: number;
let started: StartedProcess;
const env = () => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  API_TOKEN: TOKEN,
  PORT: String(port),
  DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
  TABLE_PREFIX: prefix,
});
const prefix = `docs-${randomUUID().slice(0, 8)}`;

/** Runs `command` in bash as pasted (the docs' address replaced); answers curl's exit code, the body and the HTTP status. */
function run(command: string): Promise<{ code: number; body: string; http: number }> {
  const local = command
    .replaceAll('http://localhost:3000', `http://127.0.0.1:${port}`)
    .replaceAll('localhost:3000', `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    execFile('bash', ['-c', `${local} -w '\\n%{http_code}'`], { env: env() }, (error, stdout) => {
      const at = stdout.lastIndexOf('\n');
      resolve({
        code: typeof error?.code === 'number' ? error.code : 0,
        body: stdout.slice(0, at),
        http: Number(stdout.slice(at + 1)),
      });
    });
  });
}

beforeAll(async () => {
  port = await freePort();
  started = await npmStart(
    {
      ...env(),
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'docs-commands-spill-')),
    },
    true,
  );
  // What docs/endpoints.md has the reader do before its sendMessage example.
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      ['infra/cli.ts', 'endpoints', 'put', 'lobby', '--app', 'shop', '--logic', 'relay'],
      { cwd: root, env: env() },
      (error, _stdout, stderr) => (error ? reject(new Error(stderr)) : resolve()),
    ),
  );
}, 90_000);
afterAll(async () => {
  started?.child.kill('SIGTERM');
  await started?.exited;
});

describe('the curl commands in the docs', () => {
  it('include the four hooks of the first contact, first', () => {
    expect(commands.slice(0, 4).map((c) => c.command.match(/\/hooks\/(\w+)/)?.[1])).toEqual([
      'connect',
      'publishStream',
      'StreamStatusEvent',
      'OnDataEvent',
    ]);
  });

  it.each(commands.map((c, i) => [i, c.file, c.command]))(
    '#%d of %s runs as written: %s',
    async (_i, _file, command) => {
      const result = await run(command as string);
      expect(result.code).toBe(0);
      // The body alongside, so that a failure says why.
      expect({ httpClass: `${Math.floor(result.http / 100)}xx`, body: result.body }).toEqual({
        httpClass: '2xx',
        body: result.body,
      });
      // A realm answers its own status in the body (OAM's protocol).
      const answer = JSON.parse(result.body) as { status?: unknown };
      if (typeof answer.status === 'number') expect([answer.status, result.body]).toEqual([200, result.body]);
    },
    30_000,
  );

  it('left the first contact as the docs say: cam1 is live', async () => {
    const listed = await run(
      `curl -s localhost:3000/api/stream/list -H "authorization: Bearer $API_TOKEN" -H "content-type: application/json" -d '{"name":"cam1"}'`,
    );
    expect(JSON.parse(listed.body)).toMatchObject({
      status: 200,
      payload: [expect.objectContaining({ name: 'cam1', status: 'PUBLISHING' })],
    });
  });
});
