/**
 * The operator CLI (`npm run cli -- ...`), run as a user runs it, against the test run's DynamoDB
 * Local: an app policy set with it governs the hooks, a token it issues admits a client, and its
 * revoke cuts the client off at the next keep-alive.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cli } from '../support/cli.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { openSocket } from '../support/ws-client.ts';

let server: RunningHookServer;
const CLI_API_TOKEN = 'cli-test-operator-token';
beforeAll(async () => {
  server = await startHookServer({ API_TOKEN: CLI_API_TOKEN }, { endpoints: true });
});
afterAll(() => server.close());

describe('npm run cli', () => {
  it('sets a token policy, issues a token that admits a client, and revokes the user', async () => {
    const app = `cli-${randomUUID().slice(0, 8)}`;
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });

    const put = await cli([
      'apps',
      'put',
      app,
      '--admission',
      'token',
      '--generate-secret',
      '--single-publisher',
    ]);
    expect(put.status).toBe(0);
    expect(put.json).toMatchObject({
      appKey: app,
      admission: 'token',
      singlePublisher: true,
      hs256Secret: expect.any(String),
    });
    expect((await cli(['apps', 'get', app])).json).toMatchObject({
      hs256Secret: '(set)',
      singlePublisher: true,
    });
    expect((await cli(['apps', 'list'])).json).toContainEqual(expect.objectContaining({ appKey: app }));

    const { token } = (
      await cli(['token', '--app', app, '--sub', 'ivy', '--publish', 'cam-*', '--ttl', '600'])
    ).json;
    const session = wcs.newSession();
    const connect = await wcs.send('connect', wcs.connectBody(session, { custom: { token } }));
    expect(connect.status).toBe(200);
    const stream = wcs.newStream(session, 'cam-9', true);
    expect((await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'))).status).toBe(200);

    const revoke = await cli(['revoke', '--user', 'ivy', '--app', app]);
    expect(revoke.json).toEqual({ revoked: [session.sessionId] });
    expect((await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'))).status).toBe(403);
  });

  it('updates one field of a stored policy and keeps the others', async () => {
    const app = `cli-${randomUUID().slice(0, 8)}`;
    await cli(['apps', 'put', app, '--max-players', '5', '--force-record']);
    const updated = await cli(['apps', 'put', app, '--no-force-record']);
    expect(updated.json).toMatchObject({ maxPlayersPerStream: 5, forceRecord: false });
  });

  it.each([
    [
      ['apps', 'put', 'x', '--admission', 'token'],
      /invalid policy: admission: token admission needs hs256Secret or jwksUrl/,
    ],
    [['apps', 'put', 'x', '--max-players', 'many'], /--max-players must be a positive integer/],
    [['token', '--app', 'x'], /token needs --app and --sub/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /a command is needed: token, apps, revoke, send, nodes or endpoints/],
    [['token', '--app', 'x', '--sub', 'u', '--ttl', '-5'], /Option '--ttl' argument is ambiguous/],
    [['token', '--app', 'x', '--sub', 'u', '--ttl', '0'], /--ttl must be a positive integer, got "0"/],
    [['apps', 'list', '--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses the arguments %j in one line, with exit code 2', async (args, message) => {
    const result = await cli(args as string[]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/ at .*\.ts:\d+/);
  });

  it('prints its usage on --help, with exit code 0', async () => {
    const result = await cli(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run cli -- \[--stack NAME\] <command>/);
  });

  it('says which setting to give when DynamoDB Local is not where it looks, with exit code 1', async () => {
    const { freePort } = await import('../../infra/local/dynamodb-local.ts');
    const port = await freePort();
    const result = await cli(['apps', 'list'], { DYNAMODB_ENDPOINT: '', DYNAMODB_LOCAL_PORT: String(port) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cannot reach DynamoDB at http://127.0.0.1:${port}`);
    expect(result.stderr).toContain('set DYNAMODB_LOCAL_PORT (or DYNAMODB_ENDPOINT) and TABLE_PREFIX');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('npm run cli -- send', () => {
  it('pushes a payload to a session through its node, and reports the outcome', async () => {
    const { FakeWcsRest } = await import('../support/fake-wcs-rest.ts');
    const app = `cli-${randomUUID().slice(0, 8)}`;
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const rest = await new FakeWcsRest({ node: wcs }).start();
    try {
      const session = wcs.newSession();
      expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);

      const put = await cli(['nodes', 'put', wcs.nodeId, `${rest.url}/`]);
      expect(put.json).toMatchObject({ node: wcs.nodeId, url: rest.url });
      expect((await cli(['nodes', 'list'])).json).toContainEqual(
        expect.objectContaining({
          node: wcs.nodeId,
          host: '127.0.0.1',
          url: rest.url,
          lastHookAt: expect.stringMatching(/^\d{4}-/),
          state: 'not polled yet',
        }),
      );

      // The fake node answers from this process, which `cli` does not block.
      const result = await cli([
        'send',
        '--session',
        session.sessionId,
        '--payload',
        '{"note":"from the cli"}',
      ]);

      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.json).toMatchObject({ targets: 1, sent: 1 });
      expect(rest.receivedBy(session.sessionId).map((r) => r.payload)).toEqual([{ note: 'from the cli' }]);
    } finally {
      await rest.close();
    }
  });

  it.each([
    [
      ['nodes', 'put', 'not-a-node', 'http://10.0.0.1:8081/rest-api'],
      /neither a WCS nodeId \(<id>@<ip>\) nor an IP address/,
    ],
    [['nodes', 'put', '10.0.0.1', 'ftp://10.0.0.1/rest-api'], /is not an http\(s\) URL/],
    [['nodes', 'put', '10.0.0.1', 'http://user:pw@10.0.0.1/rest-api'], /must not carry credentials/],
    [['nodes', 'put', '10.0.0.1'], /needs the node and its REST URL/],
  ])('refuses %j with a clear message and exit code 2', async (args, message) => {
    const result = await cli(args as string[]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('says it cannot remove a node it has no URL for, with exit code 1', async () => {
    const result = await cli(['nodes', 'remove', 'ghost@10.9.9.9']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no REST URL is configured for node "ghost@10.9.9.9"/);
  });

  it('removes a node URL it was given', async () => {
    const node = `n${randomUUID().slice(0, 6)}@10.1.2.3`;
    await cli(['nodes', 'put', node, 'https://wcs.example.com:8444/rest-api']);

    expect((await cli(['nodes', 'remove', node])).json).toEqual({ removed: node });

    expect((await cli(['nodes', 'list'])).json).not.toContainEqual(expect.objectContaining({ node }));
  });

  it('refuses a payload that is not JSON', async () => {
    const result = await cli(['send', '--session', 's', '--payload', '{nope']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--payload is not JSON/);
  });

  it('manages a WebSocket endpoint, issues a token with roles that opens it, shows who is on it, and sends to a user through npm start', async () => {
    const app = `cli-ep-${randomUUID().slice(0, 8)}`;
    const code = `cli-${randomUUID().slice(0, 8)}`;
    expect((await cli(['apps', 'put', app, '--admission', 'token', '--generate-secret'])).status).toBe(0);

    const put = await cli([
      'endpoints',
      'put',
      code,
      '--app',
      app,
      '--logic',
      'relay',
      '--roles',
      'member',
      '--description',
      'lobby chat',
      '--max-connections-per-user',
      '3',
    ]);
    expect(put.json).toMatchObject({
      code,
      appKey: app,
      roles: ['member'],
      logic: { kind: 'builtin', name: 'relay' },
    });
    expect((await cli(['endpoints', 'get', code])).json).toMatchObject({
      description: 'lobby chat',
      maxConnectionsPerUser: 3,
    });
    expect((await cli(['endpoints', 'list'])).json).toContainEqual(expect.objectContaining({ code }));
    const hook = await cli([
      'endpoints',
      'put',
      code,
      '--logic',
      'webhook:https://app.example.com/ws-logic',
      '--generate-secret',
    ]);
    expect(hook.json).toMatchObject({ logic: { kind: 'webhook', secret: '(set)' }, roles: ['member'] });
    expect(hook.json.webhookSecret).toMatch(/^[\w-]{40,}$/);
    await cli(['endpoints', 'put', code, '--logic', 'relay']);
    expect(
      (await cli(['endpoints', 'put', code, '--keep-offline', '600,20', '--forward-headers', 'user-agent']))
        .json,
    ).toMatchObject({ keepOffline: { ttlSeconds: 600, maxMessages: 20 }, forwardHeaders: ['user-agent'] });
    expect((await cli(['endpoints', 'put', code, '--keep-offline', 'off'])).json.keepOffline).toBeUndefined();

    const { token } = (await cli(['token', '--app', app, '--sub', 'quinn', '--roles', 'member'])).json;
    const socket = await openSocket(`${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${token}`);
    try {
      expect((await cli(['endpoints', 'who', code])).json).toEqual({
        endpoint: code,
        users: [{ user: 'quinn', connections: 1 }],
        connections: 1,
      });
      const port = new URL(server.baseUrl).port;
      const sent = await cli(['endpoints', 'send', code, '--user', 'quinn', '--text', 'hello from the CLI'], {
        API_TOKEN: CLI_API_TOKEN,
        PORT: port,
      });
      expect(sent.json).toMatchObject({ outcome: 'SENT', sent: 1 });
      expect(await socket.next()).toBe('hello from the CLI');
      expect((await cli(['endpoints', 'messages', code, '--user', 'quinn'])).json[0]).toMatchObject({
        text: 'hello from the CLI',
        origin: 'operator',
      });
      expect(
        (await cli(['endpoints', 'delete', code], { API_TOKEN: CLI_API_TOKEN, PORT: port })).json,
      ).toEqual({ deleted: code, closed: 1 });
      expect(JSON.parse(await socket.next())).toEqual({
        type: 'close',
        code: 4404,
        reason: 'endpoint deleted',
      });
    } finally {
      await socket.close();
    }
  }, 90_000);

  it.each([
    [['endpoints', 'put', 'e1'], /needs --logic for a new endpoint/, 2],
    [['endpoints', 'put', 'e1', '--logic', 'carrier-pigeon'], /--logic must be relay, broadcast, echo/, 2],
    [['endpoints', 'put', 'e1', '--logic', 'echo'], /appKey: a secured endpoint needs the app/, 2],
    [
      ['endpoints', 'put', 'e1', '--logic', 'relay', '--keep-offline', 'soon'],
      /--keep-offline must be a positive integer/,
      2,
    ],
    [
      ['endpoints', 'put', 'e1', '--logic', 'webhook:https://x.example.com', '--app', 'a'],
      /--webhook-secret S or --generate-secret/,
      2,
    ],
    [['endpoints', 'get', 'no-such-endpoint'], /no endpoint no-such-endpoint/, 1],
    [['endpoints', 'send', 'e1', '--text', 'x'], /set API_TOKEN/, 1],
  ])('refuses endpoints %j with a clear message and its exit code', async (args, message, code) => {
    const result = await cli(args as string[], { API_TOKEN: '' });
    expect(result.status).toBe(code);
    expect(result.stderr).toMatch(message);
  });
});
