/**
 * `npm start` survives its clients: anyone on the network can open a socket to it, and no socket,
 * however it misbehaves, may stop the backend of a WCS deployment. Raw sockets, not a client
 * library that behaves: refused and reset WebSocket upgrades, half-open and abandoned HTTP
 * requests, and WebSocket protocol errors after a successful upgrade, while WCS's hooks keep being
 * answered throughout.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../infra/local/dynamodb-local.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { npmStart } from '../support/npm-start.ts';
import { ownDynamoDbLocals } from '../support/own-tables.ts';

// A DynamoDB Local of its own: about 400 `$connect` writes arrive at once, and late in a test run
// the shared one (in memory, filled by every other file) takes over the SDK's 2 s for such a burst.
// What is tried here is the server's survival, not that DynamoDB Local's throughput.
const ownDynamoDbLocal = ownDynamoDbLocals();
let dynamoEndpoint: string;
beforeAll(async () => {
  dynamoEndpoint = (await ownDynamoDbLocal('hostile')).endpoint;
}, 120_000);

const TOKEN = 'operator-token';
const WS_KEY = randomBytes(16).toString('base64');

const upgrade = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** A WebSocket frame, masked as a client must (or not, to break the protocol). */
function frame(opcode: number, payload: Buffer, options: { mask?: boolean; rsv1?: boolean } = {}): Buffer {
  const mask = options.mask ?? true;
  const first = 0x80 | (options.rsv1 ? 0x40 : 0) | opcode;
  const header =
    payload.length < 126
      ? Buffer.from([first, (mask ? 0x80 : 0) | payload.length])
      : Buffer.concat([Buffer.from([first, (mask ? 0x80 : 0) | 127]), bigLength(payload.length)]);
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  return Buffer.concat([header, key, masked]);
}

function bigLength(length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(length));
  return b;
}

/** Opens a raw socket, runs `script` on it, and always ends it; never rejects. */
function withSocket(port: number, script: (socket: Socket) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
    socket.once('connect', () => {
      script(socket)
        .catch(() => undefined)
        .finally(() => {
          if (!socket.destroyed) socket.resetAndDestroy();
        });
    });
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the first bytes the server sends (or the socket's end), up to `ms`. */
const firstReply = (socket: Socket, ms = 2000) =>
  new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve(''), ms);
    socket.once('data', (data) => {
      clearTimeout(timer);
      resolve(data.toString('latin1'));
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('');
    });
  });

/** Upgrades that completed, so the protocol errors after them were really sent. */
let upgrades = 0;
/** What the server answered upgrades that did not complete, first line and count: said when too few completed. */
const refusedUpgrades = new Map<string, number>();

/** A completed upgrade: its answer must be 101 with the key's accept value. */
async function upgraded(socket: Socket): Promise<boolean> {
  // `$connect` writes the connection before the 101: on a busy machine (a shared DynamoDB Local
  // under other suites) that can take many seconds.
  const reply = firstReply(socket, 30_000);
  socket.write(upgrade(`/ws?token=${TOKEN}`));
  const accept = createHash('sha1').update(`${WS_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  const text = await reply;
  const done = text.startsWith('HTTP/1.1 101') && text.includes(accept);
  if (done) upgrades++;
  else {
    const first = text.split('\r\n')[0] || '(no answer in 30 s)';
    refusedUpgrades.set(first, (refusedUpgrades.get(first) ?? 0) + 1);
  }
  return done;
}

/** The ways of misbehaving, each one socket. */
const BEHAVIOURS: readonly ((socket: Socket) => Promise<void>)[] = [
  // Refused upgrades, reset at once or after the refusal.
  async (s) => {
    s.write(upgrade('/ws'));
  },
  async (s) => {
    const reply = firstReply(s);
    s.write(upgrade('/ws?token=wrong'));
    await reply;
  },
  async (s) => {
    s.write(upgrade('/not-the-realtime-api'));
    await pause(1);
  },
  // Half-open: part of a request line, then FIN; part of the headers, then nothing but a reset.
  async (s) => {
    s.end('GET /ws HTT');
    await pause(5);
  },
  async (s) => {
    s.write('POST /hooks/connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    await pause(5);
  },
  // A hook body promised and abandoned halfway.
  async (s) => {
    s.write(
      'POST /hooks/connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"nodeId":',
    );
    await pause(5);
  },
  // Bytes that are not HTTP.
  async (s) => {
    s.write(randomBytes(64));
    await pause(5);
  },
  // After a successful upgrade, each WebSocket protocol error.
  async (s) => {
    if (await upgraded(s)) s.write(frame(0x1, Buffer.from('CONNECT\n\n\0'), { mask: false }));
    await pause(5);
  },
  async (s) => {
    if (await upgraded(s)) s.write(frame(0x1, Buffer.from('x'), { rsv1: true }));
    await pause(5);
  },
  async (s) => {
    if (await upgraded(s)) s.write(frame(0x3, Buffer.from('x')));
    await pause(5);
  },
  async (s) => {
    if (await upgraded(s)) s.write(frame(0x1, Buffer.from([0xc3, 0x28, 0xa0, 0xa1])));
    await pause(5);
  },
  async (s) => {
    // Announces a message past API Gateway's 128 KB; sends a little of it.
    if (await upgraded(s)) s.write(frame(0x1, Buffer.alloc(200 * 1024, 0x61)).subarray(0, 4096));
    await pause(5);
  },
];

/** A logged, handled refusal of a realtime connection whose DynamoDB request passed its time limit. */
function isHandledDependencyTimeout(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const entry = JSON.parse(line) as { level?: string; message?: string; error?: { name?: string } };
    return (
      entry.level === 'ERROR' &&
      /^(realtime|endpoints) \$(connect|disconnect) failed$/.test(entry.message ?? '') &&
      entry.error?.name === 'TimeoutError'
    );
  } catch {
    return false;
  }
}

describe('npm start, facing hostile clients', () => {
  it('keeps answering hooks through 1,000 refused, half-open, reset and malformed connections', async () => {
    const port = await freePort();
    const { child, output } = await npmStart({
      PORT: String(port),
      DYNAMODB_ENDPOINT: dynamoEndpoint,
      TABLE_PREFIX: `hostile-${randomUUID().slice(0, 8)}`,
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'hostile-spill-')),
      API_TOKEN: TOKEN,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    const wcs = new FakeWcs({ appUrl: `http://127.0.0.1:${port}/hooks` });
    const statuses: number[] = [];
    let attacking = true;
    const hooks = (async () => {
      while (attacking) {
        const session = wcs.newSession();
        statuses.push((await wcs.send('connect', wcs.connectBody(session))).status);
        await pause(20);
      }
    })();

    const total = 1000;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        await withSocket(port, BEHAVIOURS[i % BEHAVIOURS.length] as (socket: Socket) => Promise<void>);
      }
    };
    await Promise.all(Array.from({ length: 25 }, worker));
    attacking = false;
    await hooks;
    // A `$connect` whose write passed the SDK's time limit is refused (500) and logged: what a
    // starved dependency makes of an upgrade, handled. Any other error line is a defect.
    const lines = output().split('\n');
    const dependencyTimeouts = lines.filter(isHandledDependencyTimeout);
    const errors = lines.filter(
      (l) => /Error:|ECONNRESET|uncaught/i.test(l) && !isHandledDependencyTimeout(l),
    );
    console.log(
      'upgrades completed',
      upgrades,
      'others answered',
      Object.fromEntries(refusedUpgrades),
      'handled DynamoDB time-outs',
      dependencyTimeouts.length,
      'server errors',
      errors.slice(0, 5),
    );

    expect(child.exitCode).toBeNull();
    expect(errors).toEqual([]);
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const session = wcs.newSession();
    expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
    // About 415 of the 1,000 sockets upgrade first, and each one's `$connect` writes before its 101:
    // on this file's own DynamoDB Local all of them complete (on the run's shared one, late in a run,
    // most passed the SDK's 2 s and were answered 500). At least 100, so that every protocol error
    // below is sent after an upgrade dozens of times.
    expect(upgrades).toBeGreaterThanOrEqual(100);
  }, 300_000);

  it('logs what the server itself sees without the ids of the last hook it answered', async () => {
    const port = await freePort();
    const { output } = await npmStart({
      PORT: String(port),
      DYNAMODB_ENDPOINT: dynamoEndpoint,
      TABLE_PREFIX: `hostile-${randomUUID().slice(0, 8)}`,
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'hostile-spill-')),
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    const wcs = new FakeWcs({ appUrl: `http://127.0.0.1:${port}/hooks` });
    const session = wcs.newSession();
    expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);

    // A hook body promised and abandoned: the server logs that its client left.
    await withSocket(port, async (socket) => {
      socket.write(
        'POST /hooks/connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      );
      await pause(50);
    });
    await pause(200);

    const line = output()
      .split('\n')
      .find((l) => l.includes('client left before its answer'));
    expect(line).toBeDefined();
    expect(line).toContain('wcs-hooks-local');
    expect(line).not.toContain(session.sessionId);
  }, 60_000);
});
