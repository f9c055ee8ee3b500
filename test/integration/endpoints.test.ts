/**
 * WebSocket endpoints for user agents (the meveo model), through the local runtime's stand-in for
 * API Gateway's WebSocket API with plain WebSocket clients (no STOMP): admission (404, 401, 403,
 * 429), the lifecycle reaching each kind of logic with its context, relay and broadcast between
 * users, the operator's sendMessage (to a user's two tabs, and to WCS sessions too), limits, logic
 * that throws, times out or answers garbage, gone connections, presence, 500 connections.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { endpointsApi } from '../support/endpoints-api.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { HS256_SECRET } from '../support/tokens.ts';
import { openSocket, Refused, type SocketClient } from '../support/ws-client.ts';

const API_TOKEN = 'operator-token-for-endpoint-tests';
const app = `endpoints-${randomUUID().slice(0, 8)}`;
const WEBHOOK_SECRET = 'a-webhook-secret-of-some-length';
let server: RunningHookServer;
let webhook: Server;
let webhookUrl: string;
let lambda: Server;
const webhookRequests: {
  event: Record<string, unknown>;
  authorization: string;
  signature: string;
  raw: string;
}[] = [];
const lambdaInvocations: { functionName: string; event: Record<string, unknown> }[] = [];
const sockets: SocketClient[] = [];
let wcsNode: FakeWcs;
let wcsRest: FakeWcsRest;

/**
 * The app's own logic, the same for the three kinds (module, webhook, Lambda): it keeps a count in
 * the context, refuses `mallory` on open, and misbehaves on request.
 */
const LOGIC = `
export async function handler(event, api) {
  (globalThis.endpointEvents ??= []).push(event);
  if (event.event === 'open') {
    if (event.session.user === 'mallory') throw new Error('mallory may not enter');
    return { context: { room: 'lobby', count: 0 } };
  }
  if (event.event !== 'message') return {};
  switch (event.message) {
    case 'slow': await new Promise((r) => setTimeout(r, 6000)); return {};
    case 'garbage': return 42;
    case 'throw': throw new Error('boom');
    case 'api': await api.sendMessage(event.endpoint, 'bob', 'from the logic'); return {};
    case 'close me': return { reply: 'bye', close: true };
    case 'kick me': return { reply: 'bye', close: { code: 4100, reason: 'kicked' } };
    default: {
      const count = event.context.count + 1;
      return { context: { count }, reply: 'count ' + count + ' in ' + event.context.room };
    }
  }
}
`;
/** The logic module, as the webhook and the Lambda stand-in run it too. */
let logicModule: { handler: (event: unknown, api: unknown) => Promise<unknown> };

const api = endpointsApi(() => server.baseUrl, API_TOKEN);

async function putEndpoint(code: string, definition: Record<string, unknown>) {
  const answer = await api('PUT', `/${code}`, { appKey: app, ...definition });
  expect(answer).toMatchObject({ status: 200 });
  return code;
}

const tokenFor = (user: string, roles: string[] = []) =>
  issueClientToken(HS256_SECRET, { sub: user, aud: app, ...(roles.length > 0 && { roles }) }, 600);

async function join(code: string, user: string, roles: string[] = []): Promise<SocketClient> {
  const socket = await openSocket(
    `${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${await tokenFor(user, roles)}`,
  );
  sockets.push(socket);
  return socket;
}

async function refusal(url: string): Promise<Refused> {
  try {
    const socket = await openSocket(url);
    await socket.close();
  } catch (error) {
    if (error instanceof Refused) return error;
    throw error;
  }
  throw new Error(`${url} was not refused`);
}

const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
};

const events = () => (globalThis as { endpointEvents?: Record<string, unknown>[] }).endpointEvents ?? [];
const eventsOf = (code: string) => events().filter((e) => e.endpoint === code);

/** A new endpoint `<prefix>-<random>` whose logic is the module. */
const moduleEndpoint = (prefix: string) =>
  putEndpoint(`${prefix}-${randomUUID().slice(0, 6)}`, { logic: { kind: 'module', path: 'logic.mjs' } });

beforeAll(async () => {
  const moduleDir = mkdtempSync(joinPath(tmpdir(), 'endpoint-logic-'));
  writeFileSync(joinPath(moduleDir, 'logic.mjs'), LOGIC);
  logicModule = await import(pathToFileURL(joinPath(moduleDir, 'logic.mjs')).href);
  // The webhook: verifies the signature as a WCS hook's, then runs the same logic.
  webhook = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const authorization = String(request.headers.authorization);
    const signature = String(request.headers['x-wcs-hooks-signature']);
    const event = JSON.parse(raw) as Record<string, unknown>;
    webhookRequests.push({ event, authorization, signature, raw });
    if (authorization !== `WCS ${createHmac('md5', WEBHOOK_SECRET).update(raw).digest('hex')}`) {
      response.writeHead(403).end('{"message":"bad signature"}');
      return;
    }
    if (event.message === 'not json') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>');
      return;
    }
    try {
      const answer = await logicModule.handler(event, {
        sendMessage: async () => undefined,
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (error) {
      response
        .writeHead(422, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: (error as Error).message }));
    }
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/logic`;
  // A stand-in for the Lambda service's Invoke API (as `sam local start-lambda` serves it).
  lambda = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const functionName = decodeURIComponent(
      /functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1] ?? '',
    );
    const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    lambdaInvocations.push({ functionName, event });
    try {
      const answer = await logicModule.handler(event, {});
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? null));
    } catch (error) {
      response
        .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
        .end(JSON.stringify({ errorType: 'Error', errorMessage: (error as Error).message }));
    }
  });
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  wcsNode = new FakeWcs({ appUrl: '', appKey: app, ip: '127.0.0.5' });
  wcsRest = await new FakeWcsRest({ node: wcsNode, host: '127.0.0.5' }).start();
  server = await startHookServer(
    {
      API_TOKEN,
      ENDPOINT_MODULE_DIR: moduleDir,
      ENDPOINT_LOGIC_FUNCTIONS: 'arn:aws:lambda:eu-west-1:111111111111:function:wcs-endpoint-*',
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
      WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
    },
    { endpoints: true },
  );
  (wcsNode as unknown as { options: { appUrl: string } }).options.appUrl = server.appUrl;
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
  await putAppPolicy(app, { admission: 'token', hs256Secret: HS256_SECRET, playRequiresGrant: false });
  await putNodeUrl(wcsNode.nodeId, wcsRest.url);
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await server.close();
  await new Promise((r) => webhook.close(r));
  await new Promise((r) => lambda.close(r));
  await wcsRest.close();
});

describe('endpoint definitions', () => {
  it('are stored, read, listed and removed through the operator API, with the webhook secret never shown', async () => {
    const code = `defs-${randomUUID().slice(0, 6)}`;
    const put = await api('PUT', `/${code}`, {
      description: 'chat beside the stream',
      appKey: app,
      roles: ['viewer'],
      logic: { kind: 'webhook', url: webhookUrl, secret: WEBHOOK_SECRET },
    });

    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      code,
      secured: true,
      roles: ['viewer'],
      logic: { kind: 'webhook', url: webhookUrl, secret: '(set)' },
      timeoutMs: 3000,
      maxMessageBytes: 32768,
      maxConnectionsPerUser: 5,
    });
    expect((await api('GET', `/${code}`)).body).toMatchObject({
      code,
      description: 'chat beside the stream',
    });
    expect(((await api('GET', '')).body as unknown as { code: string }[]).map((e) => e.code)).toContain(code);
    expect(await api('DELETE', `/${code}`)).toEqual({ status: 200, body: { deleted: code, closed: 0 } });
    expect((await api('GET', `/${code}`)).status).toBe(404);
  });

  it('refuses a definition that cannot be honoured with every reason, and stores nothing', async () => {
    const code = `bad-${randomUUID().slice(0, 6)}`;
    const answer = await api('PUT', `/${code}`, {
      secured: false,
      roles: ['admin'],
      logic: { kind: 'lambda', functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:other' },
      maxMessageBytes: 1_000_000,
    });

    expect(answer.status).toBe(400);
    const fields = (answer.body.details as { field: string }[]).map((d) => d.field);
    expect(fields.sort()).toEqual(['logic.functionArn', 'maxMessageBytes', 'roles']);
    const second = await api('PUT', `/${code}`, {
      secured: false,
      roles: ['admin'],
      logic: { kind: 'lambda', functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:other' },
    });
    expect((second.body.details as { field: string }[]).map((d) => d.field).sort()).toEqual([
      'logic.functionArn',
      'roles',
    ]);
    expect(
      (await api('PUT', '/bad%20code', { logic: { kind: 'builtin', name: 'echo' }, appKey: app })).status,
    ).toBe(400);
    expect((await api('GET', `/${code}`)).status).toBe(404);
  });

  it('may have a `.` in their code, as meveo allows, and be opened at /ws/<that code>', async () => {
    const code = await putEndpoint(`shop.lobby-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
    });
    const uma = await join(code, 'uma');
    uma.send('dotted');
    expect(await uma.next()).toBe('dotted');
    expect(
      (await api('PUT', '/.hidden', { logic: { kind: 'builtin', name: 'echo' }, appKey: app })).status,
    ).toBe(400);
  });

  it('refuses the operator API without the operator token', async () => {
    const response = await fetch(`${server.baseUrl}/api/endpoints`);
    expect(response.status).toBe(401);
  });
});

describe('opening an endpoint', () => {
  it('answers an unknown endpoint 404, a missing or bad token 401, a missing role 403, as API Gateway refuses a $connect', async () => {
    const code = await putEndpoint(`adm-${randomUUID().slice(0, 6)}`, {
      roles: ['moderator'],
      logic: { kind: 'builtin', name: 'echo' },
    });
    const base = `${server.baseUrl.replace('http', 'ws')}/ws`;

    expect((await refusal(`${base}/nope-${randomUUID().slice(0, 6)}`)).status).toBe(404);
    expect((await refusal(`${base}/${code}`)).status).toBe(401);
    const bad = await refusal(`${base}/${code}?token=not.a.jwt`);
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body)).toEqual({ error: 'Unauthorized', message: 'token malformed' });
    const wrongRole = await refusal(`${base}/${code}?token=${await tokenFor('erin', ['viewer'])}`);
    expect(wrongRole.status).toBe(403);
    expect(JSON.parse(wrongRole.body).message).toMatch(/needs one of the roles moderator/);

    const moderator = await join(code, 'erin', ['moderator']);
    moderator.send('hello');
    expect(await moderator.next()).toBe('hello');
  });

  it('answers 429 to a user at its connections limit, and admits it again once one closes', async () => {
    const code = await putEndpoint(`lim-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
      maxConnectionsPerUser: 2,
    });
    const first = await join(code, 'frank');
    await join(code, 'frank');

    const third = await refusal(
      `${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${await tokenFor('frank')}`,
    );
    expect(third.status).toBe(429);
    await first.close();
    await until(async () => ((await api('GET', `/${code}/presence`)).body.connections as number) === 1);
    await join(code, 'frank');
  });

  it('lets anyone open an unsecured endpoint, each without a token an anonymous user of its own', async () => {
    const code = await putEndpoint(`open-${randomUUID().slice(0, 6)}`, {
      secured: false,
      logic: { kind: 'builtin', name: 'broadcast' },
    });
    const socket = await openSocket(`${server.baseUrl.replace('http', 'ws')}/ws/${code}`);
    sockets.push(socket);
    const other = await openSocket(`${server.baseUrl.replace('http', 'ws')}/ws/${code}`);
    sockets.push(other);
    socket.send('hi');
    const { from } = JSON.parse(await socket.next()) as { from: string };
    expect(from).toMatch(/^anonymous-[0-9a-f]{8}$/);
    expect(JSON.parse(await other.next())).toEqual({ type: 'message', from, text: 'hi' });
    other.send('hello');
    expect(JSON.parse(await socket.next()).from).not.toBe(from);
  });

  it('refuses a browser page from an origin the endpoint does not allow (403)', async () => {
    const code = await putEndpoint(`origin-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
      allowedOrigins: ['https://*.example.com'],
    });
    const url = `${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${await tokenFor('ursula')}`;

    const refused = await openSocket(url, { origin: 'https://evil.example.org' }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(Refused);
    expect((refused as Refused).status).toBe(403);
    const allowed = await openSocket(url, { origin: 'https://shop.example.com' });
    sockets.push(allowed);
    allowed.send('ok');
    expect(await allowed.next()).toBe('ok');
  });
});

/** What the server answers a raw HTTP upgrade request with these `headers`, up to its close. */
function rawUpgrade(path: string, headers: Record<string, string>): Promise<string> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${Object.entries(
        headers,
      )
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n`,
    );
  });
}

describe('a malformed WebSocket upgrade', () => {
  it('is refused 400 before $connect: no connection is recorded and the logic gets no open', async () => {
    const code = await putEndpoint(`raw-${randomUUID().slice(0, 6)}`, {
      secured: false,
      logic: { kind: 'module', path: 'logic.mjs' },
      maxConnectionsPerUser: 1,
    });

    const badKey = await rawUpgrade(`/ws/${code}`, {
      'Sec-WebSocket-Key': 'not-a-key',
      'Sec-WebSocket-Version': '13',
    });
    const badVersion = await rawUpgrade(`/ws/${code}`, {
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '99',
    });

    expect(badKey).toMatch(/^HTTP\/1\.1 400 /);
    expect(badVersion).toMatch(/^HTTP\/1\.1 400 /);
    expect((await api('GET', `/${code}/presence`)).body).toMatchObject({ connections: 0 });
    expect(events().filter((e) => e.endpoint === code)).toEqual([]);
    const real = await openSocket(`${server.baseUrl.replace('http', 'ws')}/ws/${code}`);
    sockets.push(real);
    real.send('hello');
    expect(await real.next()).toBe('count 1 in lobby');
  });
});

describe('deleting or disabling an endpoint', () => {
  it('closes its open sockets, telling the page why (4404), and gives the logic its close', async () => {
    const code = await moduleEndpoint('del');
    const quinn = await join(code, 'quinn');
    quinn.send('one');
    expect(await quinn.next()).toBe('count 1 in lobby');

    const deleted = await api('DELETE', `/${code}`);

    expect(deleted).toEqual({ status: 200, body: { deleted: code, closed: 1 } });
    expect(JSON.parse(await quinn.next())).toEqual({ type: 'close', code: 4404, reason: 'endpoint deleted' });
    await quinn.closed;
    await until(() => eventsOf(code).some((e) => e.event === 'close'));
    expect(eventsOf(code).map((e) => e.event)).toEqual(['open', 'message', 'close']);
    expect(eventsOf(code).at(-1)).toMatchObject({
      reasonCode: 4404,
      reasonPhrase: 'endpoint deleted',
      context: { count: 1 },
    });
    const { connectionsOnEndpoint } = await import('../../shared/state/endpoint-connections.ts');
    expect(await connectionsOnEndpoint(code)).toEqual([]);
  });

  it('refuses connections while disabled (403), closes the open ones with 4403, and admits again once enabled', async () => {
    const definition = { logic: { kind: 'module', path: 'logic.mjs' } };
    const code = await putEndpoint(`dis-${randomUUID().slice(0, 6)}`, definition);
    const rita = await join(code, 'rita');

    const disabled = await api('PUT', `/${code}`, { appKey: app, ...definition, enabled: false });

    expect(disabled).toMatchObject({ status: 200, body: { enabled: false, closed: 1 } });
    expect(JSON.parse(await rita.next())).toEqual({ type: 'close', code: 4403, reason: 'endpoint disabled' });
    await rita.closed;
    await until(() => eventsOf(code).some((e) => e.event === 'close'));
    expect(eventsOf(code).at(-1)).toMatchObject({ event: 'close', reasonCode: 4403 });
    const refused = await refusal(
      `${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${await tokenFor('rita')}`,
    );
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({
      error: 'Disabled',
      message: `endpoint ${code} is disabled`,
    });
    await putEndpoint(code, { ...definition, enabled: true });
    const again = await join(code, 'rita');
    again.send('back');
    expect(await again.next()).toBe('count 1 in lobby');
  });
});

describe('a user agent closing with its own code', () => {
  it('reaches the logic as close with that code, and no error', async () => {
    const code = await moduleEndpoint('own');
    const sam = await join(code, 'sam');

    sam.ws.close(4001, 'leaving the room');

    await until(() => eventsOf(code).some((e) => e.event === 'close'));
    const seen = eventsOf(code);
    expect(seen.map((e) => e.event)).toEqual(['open', 'close']);
    expect(seen[1]).toMatchObject({ reasonCode: 4001, reasonPhrase: 'leaving the room' });
  });
});

describe('the built-in logic between three users', () => {
  it('relays {to, text} to that user only, and broadcasts to everyone', async () => {
    const relay = await putEndpoint(`relay-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'relay' },
    });
    const broadcast = await putEndpoint(`all-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'broadcast' },
    });
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => join(relay, u)));
    const everyone = await Promise.all(['alice', 'bob', 'carol'].map((u) => join(broadcast, u)));

    alice?.send(JSON.stringify({ to: 'bob', text: 'psst' }));
    expect(JSON.parse(await (bob as SocketClient).next())).toEqual({
      type: 'message',
      from: 'alice',
      text: 'psst',
    });
    alice?.send('not a relay message');
    expect(JSON.parse(await (alice as SocketClient).next())).toMatchObject({
      type: 'error',
      error: 'BadMessage',
    });
    everyone[2]?.send('hello all');
    for (const socket of everyone)
      expect(JSON.parse(await socket.next())).toEqual({ type: 'message', from: 'carol', text: 'hello all' });
    expect(carol?.received).toEqual([]);
    expect((await api('GET', `/${broadcast}/presence`)).body).toEqual({
      endpoint: broadcast,
      users: expect.arrayContaining([
        { user: 'alice', connections: 1 },
        { user: 'bob', connections: 1 },
        { user: 'carol', connections: 1 },
      ]),
      connections: 3,
    });
  });
});

describe("the operator's sendMessage", () => {
  it('reaches both tabs of one user and nobody else, and is recorded with its outcome', async () => {
    const code = await putEndpoint(`send-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
    });
    const tab1 = await join(code, 'grace');
    const tab2 = await join(code, 'grace');
    const other = await join(code, 'heidi');

    const answer = await api('POST', `/${code}/messages`, { user: 'grace', text: 'your turn' });

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      endpoint: code,
      user: 'grace',
      outcome: 'SENT',
      connections: 2,
      sent: 2,
      gone: 0,
    });
    expect(await tab1.next()).toBe('your turn');
    expect(await tab2.next()).toBe('your turn');
    expect(other.received).toEqual([]);
    const records = await api('GET', `/${code}/messages?user=grace`);
    expect(records.body[0]).toMatchObject({
      text: 'your turn',
      origin: 'operator',
      outcome: 'SENT',
      sent: 2,
    });
    expect((await api('POST', `/${code}/messages`, { user: 'nobody-here', text: 'x' })).body).toMatchObject({
      outcome: 'NOBODY',
      connections: 0,
    });
    expect(
      (await api('POST', `/nope-${randomUUID().slice(0, 4)}/messages`, { user: 'a', text: 'x' })).status,
    ).toBe(404);
  });

  it('keeps the first 4 KiB of a long text in its record, in UTF-8 bytes, without splitting a character', async () => {
    const code = await putEndpoint(`long-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
    });
    // 1 + 4 × 1,100 bytes: 4 KiB ends inside the 1,024th emoji.
    const text = `a${'😀'.repeat(1100)}`;

    await api('POST', `/${code}/messages`, { user: 'tess', text });

    const [record] = (await api('GET', `/${code}/messages?user=tess`)).body as { text: string }[];
    expect(record).toMatchObject({ textBytes: 4401, text: `a${'😀'.repeat(1023)}` });
  });

  it("reaches the user's WCS sessions too, through the sender, when asked", async () => {
    const code = await putEndpoint(`wcs-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
    });
    const session = wcsNode.newSession();
    const connect = await wcsNode.send(
      'connect',
      wcsNode.connectBody(session, { custom: { token: await tokenFor('ivan') } }),
    );
    expect(connect.status).toBe(200);
    const tab = await join(code, 'ivan');

    const answer = await api('POST', `/${code}/messages`, { user: 'ivan', text: 'everywhere', wcs: true });

    expect(answer.body).toMatchObject({ sent: 1, wcs: { targets: 1, sent: 1 } });
    expect(await tab.next()).toBe('everywhere');
    const noApp = `noapp-${randomUUID().slice(0, 6)}`;
    expect(
      (await api('PUT', `/${noApp}`, { secured: false, logic: { kind: 'builtin', name: 'echo' } })).status,
    ).toBe(200);
    expect(await api('POST', `/${noApp}/messages`, { user: 'ivan', text: 'x', wcs: true })).toMatchObject({
      status: 400,
      body: { message: `wcs: endpoint ${noApp} names no app (appKey) whose sessions to reach` },
    });
    expect(wcsRest.receivedBy(session.sessionId)[0]?.payload).toEqual({
      type: 'endpointMessage',
      endpoint: code,
      text: 'everywhere',
    });
  });

  it('removes a connection API Gateway no longer has, and gives its logic the close', async () => {
    const code = await putEndpoint(`gone-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'module', path: 'logic.mjs' },
    });
    const { openEndpointConnection } = await import('../../shared/state/endpoint-connections.ts');
    const ghost = `ghost${randomUUID().slice(0, 8)}=`;
    await openEndpointConnection({
      connectionId: ghost,
      endpoint: code,
      user: 'judy',
      roles: [],
      appKey: app,
      openedAt: new Date().toISOString(),
      query: {},
      headers: {},
      context: { room: 'lobby', count: 7 },
      burst: 5,
    });

    const answer = await api('POST', `/${code}/messages`, { user: 'judy', text: 'anyone?' });

    expect(answer.body).toMatchObject({ outcome: 'NOBODY', connections: 1, gone: 1, sent: 0 });
    expect((await api('GET', `/${code}/presence`)).body).toMatchObject({ connections: 0 });
    const seen = events().filter((e) => (e.session as { connectionId: string }).connectionId === ghost);
    expect(seen.map((e) => e.event)).toEqual(['error', 'close']);
    expect(seen[1]).toMatchObject({ reasonCode: 1006, context: { count: 7 } });
  });
});

describe.each([
  ['module', () => ({ kind: 'module', path: 'logic.mjs' })],
  ['webhook', () => ({ kind: 'webhook', url: webhookUrl, secret: WEBHOOK_SECRET })],
  [
    'lambda',
    () => ({
      kind: 'lambda',
      functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:wcs-endpoint-chat',
    }),
  ],
])("the app's own logic as a %s", (kind, logic) => {
  it('sees open, message, error and close with the context it keeps, and refuses a connection by throwing on open', async () => {
    const code = await putEndpoint(`${kind}-${randomUUID().slice(0, 6)}`, {
      logic: logic(),
      timeoutMs: 5000,
    });
    const before = events().length + webhookRequests.length + lambdaInvocations.length;
    const seenBy = () =>
      kind === 'module'
        ? events().filter((e) => e.endpoint === code)
        : kind === 'webhook'
          ? webhookRequests.map((r) => r.event).filter((e) => e.endpoint === code)
          : lambdaInvocations.map((r) => r.event).filter((e) => e.endpoint === code);

    const refused = await refusal(
      `${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${await tokenFor('mallory')}`,
    );
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).message).toMatch(/mallory may not enter/);

    const kate = await join(code, 'kate', ['member']);
    kate.send('one');
    expect(await kate.next()).toBe('count 1 in lobby');
    kate.send('two');
    expect(await kate.next()).toBe('count 2 in lobby');
    kate.ws.terminate();
    await until(() => seenBy().some((e) => e.event === 'close'));

    const seen = seenBy().filter((e) => (e.session as { user: string }).user === 'kate');
    expect(seen.map((e) => e.event)).toEqual(['open', 'message', 'message', 'error', 'close']);
    expect(seen[0]).toMatchObject({ context: {}, session: { user: 'kate', roles: ['member'], appKey: app } });
    expect(seen[2]).toMatchObject({ message: 'two', context: { room: 'lobby', count: 1 } });
    expect(seen[3]).toMatchObject({ error: expect.stringMatching(/1006/), context: { count: 2 } });
    expect(seen[4]).toMatchObject({ reasonCode: 1006, context: { room: 'lobby', count: 2 } });
    expect(events().length + webhookRequests.length + lambdaInvocations.length).toBeGreaterThan(before);
    if (kind === 'webhook') {
      const { raw, signature } = webhookRequests.at(-1) as { raw: string; signature: string };
      expect(signature).toBe(`sha256=${createHmac('sha256', WEBHOOK_SECRET).update(raw).digest('hex')}`);
    }
    if (kind === 'lambda')
      expect(lambdaInvocations.at(-1)?.functionName).toBe(
        'arn:aws:lambda:eu-west-1:111111111111:function:wcs-endpoint-chat',
      );
  });

  it('answers the user agent an error, and keeps the connection, when the logic throws, times out or answers garbage', async () => {
    const code = await putEndpoint(`${kind}-bad-${randomUUID().slice(0, 6)}`, {
      logic: logic(),
      timeoutMs: 2000,
    });
    const leo = await join(code, 'leo');

    for (const [message, failure] of [
      ['throw', 'threw'],
      ['slow', 'timeout'],
      ['garbage', 'garbage'],
    ] as const) {
      leo.send(message);
      expect(JSON.parse(await leo.next())).toEqual({
        type: 'error',
        error: 'LogicFailed',
        message: `the endpoint's logic failed (${failure}); the message was not handled`,
      });
    }
    leo.send('still here');
    expect(await leo.next()).toBe('count 1 in lobby');
    leo.send('close me');
    expect(await leo.next()).toBe('bye');
    expect((await leo.closed).code).toBe(1000);
  });
});

describe('the logic itself', () => {
  it("can sendMessage to another user (meveo's WebsocketServerEndpoint.sendMessage)", async () => {
    const code = await putEndpoint(`api-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'module', path: 'logic.mjs' },
    });
    const mia = await join(code, 'mia');
    const bob = await join(code, 'bob');

    mia.send('api');

    expect(await bob.next()).toBe('from the logic');
    // The message is recorded with its outcome once it was sent: a moment after bob has it.
    await until(async () => (await api('GET', `/${code}/messages?user=bob`)).body.length > 0);
    const records = await api('GET', `/${code}/messages?user=bob`);
    expect(records.body[0]).toMatchObject({ origin: 'logic', outcome: 'SENT' });
  });

  it('can close the connection with its own code, which the page reads and the logic gets in its close', async () => {
    const code = await moduleEndpoint('kick');
    const vic = await join(code, 'vic');

    vic.send('kick me');

    expect(await vic.next()).toBe('bye');
    expect(JSON.parse(await vic.next())).toEqual({ type: 'close', code: 4100, reason: 'kicked' });
    await vic.closed;
    await until(() => eventsOf(code).some((e) => e.event === 'close'));
    const seen = eventsOf(code);
    expect(seen.map((e) => e.event)).toEqual(['open', 'message', 'close']);
    expect(seen[2]).toMatchObject({ reasonCode: 4100, reasonPhrase: 'kicked' });
  });

  it('refuses the connection with 504 when open takes longer than its budget, and 502 for a webhook answering HTML', async () => {
    // A webhook that never answers: the open's budget of 100 ms runs out.
    const hold = createServer(() => undefined);
    await new Promise<void>((resolve) => hold.listen(0, '127.0.0.1', resolve));
    const slow = await putEndpoint(`slowopen-${randomUUID().slice(0, 6)}`, {
      logic: {
        kind: 'webhook',
        url: `http://127.0.0.1:${(hold.address() as AddressInfo).port}/`,
        secret: WEBHOOK_SECRET,
      },
      timeoutMs: 100,
    });
    const timedOut = await refusal(
      `${server.baseUrl.replace('http', 'ws')}/ws/${slow}?token=${await tokenFor('nina')}`,
    );
    hold.closeAllConnections();
    await new Promise((r) => hold.close(r));
    expect(timedOut.status).toBe(504);

    const html = await putEndpoint(`html-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'webhook', url: webhookUrl, secret: WEBHOOK_SECRET },
    });
    const oscar = await join(html, 'oscar');
    oscar.send('not json');
    expect(JSON.parse(await oscar.next())).toMatchObject({
      error: 'LogicFailed',
      message: expect.stringMatching(/garbage/),
    });
  });
});

describe('limits', () => {
  it('refuses a message over the size limit and messages over the rate, with an error to the sender, keeping the connection', async () => {
    const code = await putEndpoint(`rate-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
      maxMessageBytes: 100,
      messagesPerSecond: 1,
      burst: 2,
    });
    const pat = await join(code, 'pat');

    pat.send('x'.repeat(101));
    expect(JSON.parse(await pat.next())).toMatchObject({ type: 'error', error: 'MessageTooLarge' });
    for (let i = 0; i < 10; i++) pat.send(`m${i}`);
    await pat.next((m) => m.includes('TooManyMessages'));

    expect(pat.ws.readyState).toBe(pat.ws.OPEN);
    expect(pat.received.filter((m) => m.startsWith('m')).length).toBeLessThan(10);
  });
});

describe('200 connections on one endpoint', () => {
  it('are all admitted, all listed as present, and all reached by one broadcast', async () => {
    const code = await putEndpoint(`crowd-${randomUUID().slice(0, 6)}`, {
      logic: { kind: 'builtin', name: 'echo' },
    });
    const crowd: SocketClient[] = [];
    for (let batch = 0; batch < 4; batch++) {
      crowd.push(
        ...(await Promise.all(Array.from({ length: 50 }, (_, i) => join(code, `user-${batch * 50 + i}`)))),
      );
    }

    expect((await api('GET', `/${code}/presence`)).body).toMatchObject({ connections: 200 });
    const answer = await api('POST', `/${code}/messages`, { text: 'to everyone' });
    expect(answer.body).toMatchObject({ user: '*', connections: 200, sent: 200 });
    await Promise.all(crowd.map((socket) => socket.next((m) => m === 'to everyone')));
    await Promise.all(crowd.map((socket) => socket.close()));
    await until(
      async () => ((await api('GET', `/${code}/presence`)).body.connections as number) === 0,
      // 200 $disconnects, each a few DynamoDB writes: a bound for a busy machine, not a time to meet.
      90_000,
    );
  }, 240_000);
});
