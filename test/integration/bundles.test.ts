/**
 * The deployed artifacts are the tested ones: every hook function's bundle, as `cdk synth` leaves
 * it in the cloud assembly, loaded in a process of its own with the environment its template gives
 * it and invoked with API Gateway (HTTP API, payload 2.0) events against DynamoDB Local, answers
 * each hook as `npm start` does.
 *
 * The template's references are resolved to what exists locally: table names to the run's tables,
 * the spill queue to a spill directory, the send queue to the local queue table. The hook secret's
 * ARN is left out (no Secrets Manager here): both sides answer unsigned hooks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build-app.ts';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { HANDLERS, type HandlerName, HOOKS_PATH } from '../../shared/kernel/registry.ts';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { LOCAL_QUEUE_TABLE, TABLES } from '../../shared/store/tables.ts';
import { bundleBaseEnv } from '../support/bundle-env.ts';
import { TEST_TABLE_PREFIX } from '../support/constants.ts';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { HS256_SECRET } from '../support/tokens.ts';

type Resource = {
  Type: string;
  Properties: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, unknown> } };
};
const runner = new URL('../support/run-bundle.mjs', import.meta.url).pathname;
const spillDir = mkdtempSync(join(tmpdir(), 'bundles-spill-'));
let server: RunningHookServer;
const bundles = new Map<HandlerName, Bundle>();

/** One bundle, loaded once, invoked line by line. */
class Bundle {
  private readonly child: ChildProcess;
  private readonly answers: ((line: string) => void)[] = [];

  constructor(path: string, env: Record<string, string>, name: string) {
    this.child = spawn(process.execPath, [runner, path, name], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      this.answers.shift()?.(line),
    );
  }

  invoke(event: unknown): Promise<{ result?: { statusCode: number; body: string }; error?: string }> {
    return new Promise((resolve) => {
      this.answers.push((line) => resolve(JSON.parse(line)));
      this.child.stdin?.write(`${JSON.stringify(event)}\n`);
    });
  }

  close() {
    this.child.kill();
  }
}

beforeAll(async () => {
  const outdir = mkdtempSync(join(tmpdir(), 'bundles-cdk-'));
  const { app, stack } = buildApp({ outdir, context: { stage: 'bundles' } });
  const assembly = app.synth();
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const tableOf = new Map(
    Object.values(TABLES).map((t) => {
      const id = Object.keys(resources).find(
        (r) => resources[r]?.Type === 'AWS::DynamoDB::GlobalTable' && r.startsWith(`State${t.name}`),
      );
      return [id, `${TEST_TABLE_PREFIX}-${t.name}`];
    }),
  );
  for (const name of Object.keys(HANDLERS) as HandlerName[]) {
    const [, fn] =
      Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(`Hooks${name.replace(/-/g, '')}`),
      ) ?? [];
    const asset = join(
      assembly.directory,
      `asset.${String(fn?.Properties.Code?.S3Key).replace(/\.zip$/, '')}`,
    );
    // The function's environment, as its template gives it, resolved to what exists locally.
    const env = bundleBaseEnv();
    for (const [key, value] of Object.entries(fn?.Properties.Environment?.Variables ?? {})) {
      if (typeof value === 'string') env[key] = value;
      else if (key === 'SPILL_QUEUE_URL') env.SPILL_DIR = spillDir;
      else if (key === 'SEND_QUEUE_URL') env[LOCAL_QUEUE_TABLE.envVar] = `${TEST_TABLE_PREFIX}-queue`;
      else if (key === 'WCS_HOOK_SECRET_ARN') continue;
      else {
        const table = tableOf.get((value as { Ref?: string }).Ref);
        if (!table) throw new Error(`${name}: cannot resolve ${key} = ${JSON.stringify(value)}`);
        env[key] = table;
      }
    }
    env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    // The template's budgets (300 ms and 100 ms) are sized for Lambda next to DynamoDB; on a loaded
    // two-core machine sharing one DynamoDB Local, a first call can miss them and be answered by its
    // fail mode. This compares answers, not times (the budgets have tests of their own: deadline).
    env.DECISION_BUDGET_MS = '10000';
    env.EVENT_BUDGET_MS = '10000';
    bundles.set(name, new Bundle(join(asset, 'index.mjs'), env, name));
  }
  server = await startHookServer({ SPILL_DIR: spillDir });
}, 180_000);
afterAll(async () => {
  for (const bundle of bundles.values()) bundle.close();
  await server.close();
});

/** The API Gateway HTTP API event of a hook, as the route of its handler receives it. */
function hookEvent(method: string, handler: HandlerName, body: unknown) {
  const text = JSON.stringify(body);
  const routeKey = handler === 'echo' ? `POST ${HOOKS_PATH}/{method}` : `POST ${HOOKS_PATH}/${method}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: `${HOOKS_PATH}/${method}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json;charset=UTF-8', 'user-agent': 'Java/1.8.0_111' },
    ...(handler === 'echo' && { pathParameters: { method } }),
    requestContext: {
      accountId: '111111111111',
      apiId: 'api',
      domainName: 'api.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'api',
      http: {
        method: 'POST',
        path: `${HOOKS_PATH}/${method}`,
        protocol: 'HTTP/1.1',
        sourceIp: '10.0.0.1',
        userAgent: 'Java',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body: text,
    isBase64Encoded: false,
  };
}

/** A whole session's hooks, in order: every handler answers at least one. */
function scenario(wcs: FakeWcs, session: WcsSession): [string, Record<string, unknown>][] {
  const stream = wcs.newStream(session, `bundle-${session.sessionId.slice(0, 6)}`, true);
  // Named after the session, so that it reads the same on both sides once the session id is put aside.
  const operationId = `op-${session.sessionId}` as ReturnType<typeof randomUUID>;
  return [
    ['connect', wcs.connectBody(session)],
    ['ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED')],
    ['publishStream', wcs.streamBody(stream, 'PENDING')],
    ['playStream', wcs.streamBody(wcs.newStream(session, stream.name, false), 'PENDING')],
    ['StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING')],
    ['StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING')],
    ['OnDataEvent', wcs.dataBody(session, { hello: 'bundle' }, operationId)],
    ['DataStatusEvent', { ...session, operationId, status: 'ACCEPTED' }],
    ['ErrorEvent', { ...session, info: 'Failed by error' }],
    ['CallStatusEvent', { ...session, callId: 'c1', status: 'RING' }],
    ['unPublishStream', wcs.streamBody(stream, 'PUBLISHING')],
    ['StreamStatusEvent', wcs.streamBody(stream, 'UNPUBLISHED')],
    ['stopStream', wcs.streamBody(wcs.newStream(session, stream.name, false), 'PLAYING')],
    ['ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED')],
  ];
}

const handlerOf = (method: string): HandlerName =>
  (
    ({
      connect: 'connect',
      ConnectionStatusEvent: 'connection-status-event',
      publishStream: 'publish-stream',
      playStream: 'play-stream',
      StreamStatusEvent: 'stream-status-event',
      StreamKeepAliveEvent: 'stream-keep-alive-event',
      OnDataEvent: 'on-data-event',
      DataStatusEvent: 'data-status-event',
      ErrorEvent: 'error-event',
      unPublishStream: 'unpublish-stream',
      stopStream: 'stop-stream',
    }) as Record<string, HandlerName>
  )[method] ?? 'echo';

describe('every synthesized hook bundle', () => {
  it('answers each hook of a session as npm start answers it', async () => {
    const app = `bundles-${randomUUID().slice(0, 6)}`;
    const deployed = new FakeWcs({ appUrl: 'unused', appKey: app });
    const local = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const [a, b] = [deployed.newSession(), local.newSession()];
    const [stepsA, stepsB] = [scenario(deployed, a), scenario(local, b)];
    const used = new Set<HandlerName>();

    for (const [i, [method, body]] of stepsA.entries()) {
      const handler = handlerOf(method);
      used.add(handler);
      const fromBundle = await (bundles.get(handler) as Bundle).invoke(hookEvent(method, handler, body));
      const fromNpmStart = await local.send(method, (stepsB[i] as [string, Record<string, unknown>])[1]);

      expect(fromBundle.error).toBeUndefined();
      // The same answer, once each side's own ids are put aside.
      const normalise = (text: string, session: WcsSession, node: FakeWcs) =>
        JSON.parse(
          text
            .replaceAll(session.sessionId, 'SESSION')
            .replaceAll(node.nodeId, 'NODE')
            .replace(/bundle-[\w-]{6}/g, 'NAME'),
        );
      expect([method, fromBundle.result?.statusCode]).toEqual([method, fromNpmStart.status]);
      const streamIds = (text: string) => text.replace(/"mediaSessionId":"[^"]+"/g, '"mediaSessionId":"M"');
      expect(normalise(streamIds(fromBundle.result?.body ?? ''), a, deployed)).toEqual(
        normalise(streamIds(fromNpmStart.text), b, local),
      );
    }
    expect([...used].sort()).toEqual((Object.keys(HANDLERS) as HandlerName[]).sort());
  }, 60_000);
});

describe('a split bundle', () => {
  // What a cold start does not read (bundleOptions in infra/constructs/bundle.ts) is read when needed.
  it("loads what it keeps off the common path when a call needs it: jose, middy's status texts", async () => {
    const app = `bundles-${randomUUID().slice(0, 6)}`;
    await putAppPolicy(app, { admission: 'token', hs256Secret: HS256_SECRET });
    const wcs = new FakeWcs({ appUrl: 'unused', appKey: app });
    const connect = (custom: unknown, text?: (json: string) => string) => {
      const event = hookEvent('connect', 'connect', { ...wcs.connectBody(wcs.newSession()), custom });
      if (text) event.body = text(event.body);
      return (bundles.get('connect') as Bundle).invoke(event);
    };

    // A token app: jose verifies the token (a chunk of its own), and a forged one is refused.
    const good = await connect({
      token: await issueClientToken(HS256_SECRET, { sub: 'ann', aud: app }, 300),
    });
    expect(good.result?.statusCode).toBe(200);
    const forged = await connect({
      token: await issueClientToken('y'.repeat(40), { sub: 'ann', aud: app }, 300),
    });
    expect(forged.result?.statusCode).toBe(403);
    expect(JSON.parse(forged.result?.body ?? '{}').message).toMatch(/signature invalid/);

    // A body with \u escapes goes through middy's parser; a forbidden key is refused by it, with
    // middy's status text (read from node:http on first use: lazyStatusCodes).
    const token = await issueClientToken(HS256_SECRET, { sub: 'bea', aud: app }, 300);
    const escaped = await connect({ token, room: 'café' }, (json) => json.replace('café', 'caf\\u00e9'));
    expect([escaped.error, escaped.result?.statusCode]).toEqual([undefined, 200]);
    const hostile = await connect({ token }, (json) =>
      json.replace('"custom":{', '"custom":{"__proto__":{"x":1},'),
    );
    expect(hostile.result?.statusCode).toBe(400);
    expect(JSON.parse(hostile.result?.body ?? '{}').message).toMatch(/Forbidden key/);
  }, 30_000);
});
