/**
 * TLS for the local server, as OAM serves one HTTPS port: with `TLS_CERT_FILE` and `TLS_KEY_FILE`,
 * hooks and the REST realms answer over `https://` and the realtime API over `wss://`; plain HTTP is
 * not spoken. The certificate is made here with openssl (self-signed, for 127.0.0.1).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

const TOKEN = 'tls-token';
const root = fileURLToPath(new URL('../../', import.meta.url));
let server: RunningHookServer;
let ca: Buffer;
let tlsEnv: Record<string, string>;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wcs-hooks-tls-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(cert);
  tlsEnv = { API_TOKEN: TOKEN, TLS_CERT_FILE: cert, TLS_KEY_FILE: key };
  server = await startHookServer(tlsEnv, { realtime: true, endpoints: true });
  base = server.baseUrl.replace('http://', 'https://');
}, 60_000);
afterAll(() => server.close());

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('with a certificate', () => {
  it('answers hooks and the REST realms over https', async () => {
    const hook = await post(`${base}/hooks/connect`, {
      nodeId: 'n@127.0.0.1',
      appKey: 'tls',
      sessionId: 'tls-1',
    });
    expect(hook.status).toBe(200);
    const realm = await post(`${base}/api/metric/list`, { id: '3' }, { authorization: `Bearer ${TOKEN}` });
    expect(realm.json).toMatchObject({ status: 200, payload: [{ enumName: 'VIDEO_RATE' }] });
  });

  it('serves STOMP over wss', async () => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(`${base.replace('https', 'wss')}/ws?token=${TOKEN}`, { ca }),
      reconnectDelay: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.onConnect = () => resolve();
      client.onWebSocketError = () => reject(new Error('wss failed'));
      client.activate();
    });
    expect(client.connected).toBe(true);
    await client.deactivate({ force: true });
  });

  it('is reached by `npm run cli -- endpoints send`, over https, trusting the certificate the server serves', async () => {
    const { putEndpoint } = await import('../../shared/state/endpoints.ts');
    const code = `tls-${randomUUID().slice(0, 8)}`;
    await putEndpoint(code, { secured: false, logic: { kind: 'builtin', name: 'echo' } });
    const socket = new WebSocket(`${base.replace('https', 'wss')}/ws/${code}`, { ca });
    const received = new Promise<string>((resolve) =>
      socket.once('message', (data) => resolve(String(data))),
    );
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));

    const sent = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['infra/cli.ts', 'endpoints', 'send', code, '--text', 'over tls'],
        { cwd: root, env: { ...process.env, ...tlsEnv, PORT: new URL(base).port } },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );

    expect(JSON.parse(sent)).toMatchObject({ outcome: 'SENT', sent: 1 });
    expect(await received).toBe('over tls');
    socket.close();
  }, 60_000);

  it('does not speak plain HTTP', async () => {
    await expect(fetch(`${server.baseUrl}/health`)).rejects.toThrow();
  });
});
