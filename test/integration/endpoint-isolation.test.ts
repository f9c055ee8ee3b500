/**
 * An endpoint's logic cannot take `npm start` down: the whole process (`node infra/local/main.ts`,
 * as an operator runs it) keeps answering hooks and every other endpoint while one endpoint's module
 * leaves rejected promises behind or never answers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { freePort } from '../../infra/local/dynamodb-local.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { npmStart } from '../support/npm-start.ts';
import { openSocket } from '../support/ws-client.ts';

const API_TOKEN = 'operator-token-for-isolation';

/** Logic that misbehaves on request, and answers `ok` so the test knows it ran. */
const MISBEHAVING = `
export async function handler(event, api) {
  if (event.event !== 'message') return {};
  if (event.message === 'reject') {
    api.sendMessage('no-such-endpoint', 'nobody', 'lost'); // not awaited: it rejects (404)
    Promise.reject(new Error('a stray rejection of the logic'));
    return { reply: 'ok' };
  }
  if (event.message === 'hang') await new Promise(() => undefined);
  return { reply: 'ok' };
}
`;

async function putEndpoint(baseUrl: string, code: string, logic: Record<string, unknown>) {
  const response = await fetch(`${baseUrl}/api/endpoints/${code}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ secured: false, logic, timeoutMs: 500 }),
  });
  expect(response.status).toBe(200);
}

describe("an endpoint's logic under npm start", () => {
  it('leaves rejected promises behind or hangs, and the hooks and other endpoints still answer', async () => {
    const port = await freePort();
    const moduleDir = mkdtempSync(join(tmpdir(), 'endpoint-isolation-'));
    writeFileSync(join(moduleDir, 'misbehaving.mjs'), MISBEHAVING);
    const { exited, output } = await npmStart({
      PORT: String(port),
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
      TABLE_PREFIX: `isolation-${randomUUID().slice(0, 8)}`,
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'isolation-spill-')),
      API_TOKEN,
      ENDPOINT_MODULE_DIR: moduleDir,
    });
    let exitCode: number | null | 'running' = 'running';
    void exited.then((code) => {
      exitCode = code;
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    await putEndpoint(baseUrl, 'misbehaving', { kind: 'module', path: 'misbehaving.mjs' });
    await putEndpoint(baseUrl, 'other', { kind: 'builtin', name: 'echo' });
    const bad = await openSocket(`ws://127.0.0.1:${port}/ws/misbehaving`);

    bad.send('reject');
    expect(await bad.next()).toBe('ok');
    bad.send('hang');
    expect(JSON.parse(await bad.next())).toMatchObject({ error: 'LogicFailed', message: /timeout/ });
    // The stray rejection is reported once the module's turn is over: the server says so, and lives.
    const deadline = Date.now() + 10_000;
    while (!output().includes('a promise rejection was not handled') && exitCode === 'running') {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    expect(exitCode).toBe('running');
    expect(output()).toContain('a stray rejection of the logic');
    const wcs = new FakeWcs({ appUrl: `${baseUrl}/hooks`, appKey: 'defaultApp' });
    const session = wcs.newSession();
    expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
    const other = await openSocket(`ws://127.0.0.1:${port}/ws/other`);
    other.send('still here');
    expect(await other.next()).toBe('still here');
    bad.send('again');
    expect(await bad.next()).toBe('ok');
    await Promise.all([bad.close(), other.close()]);
  }, 90_000);
});
