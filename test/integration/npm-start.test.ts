/**
 * `npm start` as an operator runs it (`node infra/local/main.ts`, what the script execs): it starts
 * its own DynamoDB Local, creates the tables, answers WCS's hooks, serves the realtime API when
 * `API_TOKEN` is set, and stops on SIGTERM or SIGINT, DynamoDB Local's Java process included.
 * Killed with `kill -9`, it loses no spilled hook (the restart drains what was left), and its
 * DynamoDB Local is stopped, by its reaper or by the restart, whichever comes first: never reused.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { freePort } from '../../infra/local/dynamodb-local.ts';
import type { SpilledHook } from '../../shared/http/spill.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { listening, npmStart, spawnNpmStart } from '../support/npm-start.ts';
import { ownDynamoDbLocals } from '../support/own-tables.ts';

const ownDynamoDbLocal = ownDynamoDbLocals();

describe('npm start', () => {
  it('runs DynamoDB Local, answers hooks and STOMP, and stops everything on SIGTERM', async () => {
    const [port, dynamoPort] = [await freePort(), await freePort()];
    const { child, exited, output } = await npmStart({
      PORT: String(port),
      DYNAMODB_IN_MEMORY: 'true',
      DYNAMODB_LOCAL_PORT: String(dynamoPort),
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'npm-start-spill-')),
      API_TOKEN: 'operator',
    });
    expect(output()).toContain(`http://127.0.0.1:${port}/hooks`);
    expect(output()).toContain(`ws://localhost:${port}/ws?token=$API_TOKEN`);

    const wcs = new FakeWcs({ appUrl: `http://127.0.0.1:${port}/hooks`, appKey: 'defaultApp' });
    const session = wcs.newSession();
    const reply = await wcs.send('connect', wcs.connectBody(session));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ sessionId: session.sessionId });

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=operator`);
    const first = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('CONNECT\naccept-version:1.2\nhost:h\n\n\0');
    expect(await first).toMatch(/^CONNECTED\n/);
    ws.close();

    expect(await listening(dynamoPort)).toBe(true);
    child.kill('SIGTERM');

    expect(await exited).toBe(0);
    expect(await listening(dynamoPort)).toBe(false);
    expect(await listening(port)).toBe(false);
  }, 90_000);

  it('without API_TOKEN, serves hooks and says the realtime API is off', async () => {
    const port = await freePort();
    const { child, exited, output } = await npmStart({
      PORT: String(port),
      // The test run's DynamoDB Local, under tables of its own.
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
      TABLE_PREFIX: `npm-start-${randomUUID().slice(0, 8)}`,
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'npm-start-spill-')),
    });
    expect(output()).toContain('realtime monitoring (/ws) is off: set API_TOKEN to serve it');
    const refused = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=anything`);
      ws.once('open', () => resolve(false));
      ws.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);

    child.kill('SIGINT');

    expect(await exited).toBe(0);
  }, 60_000);

  it('stops at once on SIGTERM while the node poller waits on a node that never answers', async () => {
    const port = await freePort();
    const prefix = `npm-start-${randomUUID().slice(0, 8)}`;
    // A registered node that accepts the poller's request and never answers.
    let asked = 0;
    const hanging = createServer((socket) => {
      asked++;
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const wcs = new FakeWcs({ appUrl: `http://127.0.0.1:${port}/hooks`, appKey: 'defaultApp' });
    try {
      const { child, exited } = await npmStart({
        PORT: String(port),
        DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
        TABLE_PREFIX: prefix,
        SPILL_DIR: mkdtempSync(join(tmpdir(), 'npm-start-spill-')),
        NODE_POLL_INTERVAL_S: '1',
        WCS_REST_TIMEOUT_MS: '120000',
      });
      const { exportTableNames } = await import('../../infra/local/tables.ts');
      exportTableNames(prefix);
      const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
      await putNodeUrl(
        wcs.nodeId,
        `http://127.0.0.1:${(hanging.address() as { port: number }).port}/rest-api`,
      );
      expect((await wcs.send('connect', wcs.connectBody(wcs.newSession()))).status).toBe(200);
      while (asked === 0) await new Promise((r) => setTimeout(r, 100));

      child.kill('SIGTERM');

      // The request would wait two minutes for an answer: the test's own timeout is far shorter.
      expect(await exited).toBe(0);
    } finally {
      hanging.close();
    }
  }, 40_000);

  it('refuses to start on a DynamoDB Local port another process holds, and says what to do', async () => {
    const dynamoPort = await freePort();
    const holder = createServer(() => undefined);
    await new Promise<void>((resolve) => holder.listen(dynamoPort, '127.0.0.1', resolve));
    try {
      const { exited, output } = spawnNpmStart({
        PORT: String(await freePort()),
        DYNAMODB_IN_MEMORY: 'true',
        DYNAMODB_LOCAL_PORT: String(dynamoPort),
      });

      expect(await exited).toBe(1);
      expect(output()).toContain(`port ${dynamoPort} is already in use by another process`);
      expect(output()).toContain(`DYNAMODB_ENDPOINT=http://127.0.0.1:${dynamoPort}`);
      expect(output()).not.toContain('serving WCS hooks');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 30_000);

  it('refuses a busy HTTP port before it starts anything, naming PORT', async () => {
    const [port, dynamoPort] = [await freePort(), await freePort()];
    const holder = createServer(() => undefined);
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const { exited, output } = spawnNpmStart({
        PORT: String(port),
        DYNAMODB_IN_MEMORY: 'true',
        DYNAMODB_LOCAL_PORT: String(dynamoPort),
      });

      expect(await exited).toBe(1);
      expect(output()).toContain(
        `port ${port} of 127.0.0.1 is already in use (another npm start?): set PORT to a free port`,
      );
      expect(output()).not.toContain('starting DynamoDB Local');
      expect(output()).not.toContain('EADDRINUSE');
      expect(await listening(dynamoPort)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 30_000);

  it('leaves no DynamoDB Local behind when it is killed with SIGKILL: its reaper stops it about a second later', async () => {
    const dynamoPort = await freePort();
    const { child, exited } = await npmStart({
      PORT: String(await freePort()),
      DYNAMODB_IN_MEMORY: 'true',
      DYNAMODB_LOCAL_PORT: String(dynamoPort),
    });
    expect(await listening(dynamoPort)).toBe(true);

    child.kill('SIGKILL');
    await exited;

    // The reaper checks once a second; wait for the port to free, as the next start would need.
    let free = false;
    for (let i = 0; i < 100 && !free; i++) {
      free = !(await listening(dynamoPort));
      if (!free) await new Promise((r) => setTimeout(r, 100));
    }
    expect(free).toBe(true);
  }, 60_000);

  it('drains every one of 20,000 spilled lines after kill -9 mid-drain and a restart, replaying again only what was under way', async () => {
    const work = mkdtempSync(join(tmpdir(), 'npm-start-kill-'));
    const spillDir = join(work, 'spill');
    mkdirSync(spillDir);
    const prefix = `kill-${randomUUID().slice(0, 8)}`;
    const wcs = new FakeWcs({ appUrl: 'http://unused', appKey: 'defaultApp' });
    // The spill as the server writes it: 2,000 sessions of 10 data messages each, one line a
    // DataStatusEvent (one write each: the test is about the spill, not the cost of a hook).
    const spilled = Array.from({ length: 2_000 }, () => wcs.newSession()).flatMap((session) =>
      Array.from({ length: 10 }, () => {
        const hook: SpilledHook = {
          method: 'DataStatusEvent',
          body: { ...session, operationId: randomUUID(), status: 'ACCEPTED' },
          receivedAt: new Date().toISOString(),
          digest: randomUUID().replace(/-/g, ''),
        };
        return JSON.stringify(hook);
      }),
    );
    writeFileSync(join(spillDir, 'spill.jsonl'), `${spilled.join('\n')}\n`);
    // A DynamoDB Local of its own, which outlives the kill, as a database on disk would: 20,000
    // writes, and the usage kept from each, would slow every other suite sharing the test run's.
    const dynamo = await ownDynamoDbLocal(prefix);
    const env = {
      PORT: String(await freePort()),
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SPILL_DIR: spillDir,
      TABLE_PREFIX: prefix,
      SPILL_DRAIN_LOG_INTERVAL_S: '1',
    };
    const doneLines = () =>
      readdirSync(spillDir)
        .filter((n) => n.endsWith('.done'))
        .reduce(
          (sum, n) => sum + readFileSync(join(spillDir, n), 'utf8').split('\n').filter(Boolean).length,
          0,
        );
    const first = await npmStart(env);
    while (doneLines() < 200) await new Promise((r) => setTimeout(r, 100));

    first.child.kill('SIGKILL');
    await first.exited;
    const doneBeforeTheKill = doneLines();
    const second = await npmStart(env);

    while (readdirSync(spillDir).some((n) => n.startsWith('draining-') || n === 'spill.jsonl'))
      await new Promise((r) => setTimeout(r, 500));
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint });
    let written = 0;
    let from: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: `${prefix}-dataMessages`, Select: 'COUNT', ExclusiveStartKey: from }),
      );
      written += page.Count ?? 0;
      from = page.LastEvaluatedKey;
    } while (from);
    client.destroy();
    expect(written).toBe(20_000);
    expect(readdirSync(spillDir)).toEqual([]);
    // The restart resumed: its first report of lines left counts none that was done before the kill.
    const reports = second
      .output()
      .split('\n')
      .filter((l) => l.includes('"draining the spill"'))
      .map((l) => JSON.parse(l) as { linesLeft: number });
    expect(reports[0]?.linesLeft).toBeLessThanOrEqual(20_000 - doneBeforeTheKill);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    rmSync(work, { recursive: true, force: true });
  }, 900_000);

  it('stops the DynamoDB Local a killed npm start left, when restarted before its reaper did: stopped, never reused', async () => {
    const dynamoPort = await freePort();
    const env = {
      PORT: String(await freePort()),
      DYNAMODB_IN_MEMORY: 'true',
      DYNAMODB_LOCAL_PORT: String(dynamoPort),
    };
    const first = await npmStart(env);
    // Its DynamoDB Local, and the reaper that would stop it a second after the server is gone: the
    // reaper is stopped too, as if the restart came first, so that the restart must deal with it.
    const children = execFileSync('pgrep', ['-P', String(first.child.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const java = children.find((pid) => commandOf(pid).includes('DynamoDBLocal')) as number;
    const reaper = children.find((pid) => commandOf(pid).startsWith('sh')) as number;
    process.kill(reaper, 'SIGKILL');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await listening(dynamoPort)).toBe(true);

    const second = await npmStart(env);

    expect(second.output()).toContain(`stopped the DynamoDB Local (pid ${java}) a killed npm start left`);
    expect(existsSync(`/proc/${java}`)).toBe(false);
    expect(await listening(dynamoPort)).toBe(true);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);

  it.each([
    [
      'a hook secret list that lists no secret',
      { WCS_HOOK_SECRET: ' , ' },
      /WCS_HOOK_SECRET is set but lists no secret/,
    ],
    [
      'a default policy that is not JSON',
      { DEFAULT_APP_POLICY: '{admission: open' },
      /DEFAULT_APP_POLICY .*not JSON/,
    ],
    [
      'a default policy that is not a policy',
      { DEFAULT_APP_POLICY: '{"admission":"token"}' },
      /token admission needs hs256Secret or jwksUrl/,
    ],
    [
      'an unknown fail mode',
      { DECISION_FAIL_MODES: '{"connect":"maybe"}' },
      /DECISION_FAIL_MODES.connect must be "open" or "closed"/,
    ],
    [
      'a fail mode of a hook that decides nothing',
      { DECISION_FAIL_MODES: '{"StreamStatusEvent":"open"}' },
      /not a decision hook/,
    ],
    ['a hook body limit the spill cannot take', { HOOK_BODY_LIMIT_BYTES: '300000' }, /at most 256000/],
  ])(
    'refuses to start with %s, saying why, before DynamoDB Local starts',
    async (_case, env, message) => {
      const dynamoPort = await freePort();
      const { exited, output } = spawnNpmStart({
        PORT: String(await freePort()),
        DYNAMODB_IN_MEMORY: 'true',
        DYNAMODB_LOCAL_PORT: String(dynamoPort),
        ...env,
      });

      expect(await exited).toBe(1);
      expect(output()).toMatch(/could not start/);
      expect(output()).toMatch(message);
      expect(await listening(dynamoPort)).toBe(false);
    },
    30_000,
  );
});
