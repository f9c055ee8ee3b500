/**
 * The local runtime runs several invocations at once in one process (Lambda runs one per
 * environment): each invocation's EMF line holds its own metrics and dimensions, never those of a
 * hook that ran beside it. Two decisions falling back to their fail mode at the same time used to
 * share one emitter: one line carried both hooks' metrics under the other's method, and Powertools
 * warned "Dimension failMode has already been added".
 *
 * The same for the log: each line carries the keys and Lambda context of the invocation that wrote
 * it. One Powertools logger shared by hooks running at once used to write one hook's line with the
 * other's `sessionId`, and drop its keys when the other ended.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  // A port that was just free: nothing listens there, every DynamoDB request fails at once.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  server = await startHookServer({
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}`,
    DECISION_BUDGET_MS: '2000',
    POWERTOOLS_METRICS_DISABLED: 'false',
    // The hooks' own log lines, for the second test, one JSON line each as in Lambda (the tests'
    // default is SILENT, and indented).
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_DEV: 'false',
  });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'metrics' });
});
afterAll(async () => {
  await server.close();
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

describe('the local runtime, with EMF metrics on', () => {
  // First: while the breaker is closed, each hook awaits DynamoDB's refusal, so the hooks' work
  // interleaves (once it is open, they fall back before any await).
  it("writes each hook's log lines with its own keys and request id, not those of a hook beside it", async () => {
    const sessions = Array.from({ length: 6 }, () => wcs.newSession());
    const { replies, written } = await capturing(() =>
      Promise.all(sessions.map((session) => wcs.send('connect', wcs.connectBody(session)))),
    );

    expect(replies.map((r) => r.status)).toEqual(Array(6).fill(403));
    const logged = jsonLines(written).filter((line) => 'level' in line && 'sessionId' in line);
    const ids = sessions.map((session) => session.sessionId);
    // Every hook wrote at least one line of its own (the decision's fallback), and nothing else did.
    expect([...new Set(logged.map((line) => line.sessionId))].sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const own = logged.filter((line) => line.sessionId === id);
      // One invocation's lines: one request id, the hook's method, no other session's request id.
      const requestIds = new Set(own.map((line) => line.function_request_id));
      expect({
        id,
        requestIds: requestIds.size,
        methods: [...new Set(own.map((line) => line.method))],
      }).toEqual({
        id,
        requestIds: 1,
        methods: ['connect'],
      });
      const others = logged.filter((line) => line.sessionId !== id).map((line) => line.function_request_id);
      expect(others).not.toContain([...requestIds][0]);
    }
  });

  it('writes each of hooks falling back at the same time its own line: its method, its fail mode, one count', async () => {
    const { replies, written } = await capturing(() =>
      Promise.all(
        Array.from({ length: 4 }, () => [
          wcs.send('connect', wcs.connectBody(wcs.newSession())),
          wcs.send('playStream', wcs.streamBody(wcs.newStream(wcs.newSession(), 'n', false), 'PENDING')),
        ]).flat(),
      ),
    );

    expect(replies.map((r) => r.status)).toEqual([403, 200, 403, 200, 403, 200, 403, 200]);
    const lines = jsonLines(written).filter((line) => '_aws' in line);
    const byHook = lines
      .filter((line) => 'method' in line)
      .map(({ method, failMode, DecisionFallback }) => ({ method, failMode, DecisionFallback }))
      .sort((a, b) => String(a.method).localeCompare(String(b.method)));
    expect(byHook).toEqual([
      ...Array.from({ length: 4 }, () => ({ method: 'connect', failMode: 'closed', DecisionFallback: 1 })),
      ...Array.from({ length: 4 }, () => ({ method: 'playStream', failMode: 'open', DecisionFallback: 1 })),
    ]);
    // And the alarm's own count, one line each, with the service dimension alone.
    expect(lines.filter((line) => !('method' in line)).map((line) => line.DecisionFallback)).toEqual(
      Array(8).fill(1),
    );
    expect(written.join('')).not.toMatch(/has already been added/);
  });
});

/** What `work` writes to stdout, stderr and the console while it runs, and what it returns. */
async function capturing<T>(work: () => Promise<T>): Promise<{ replies: T; written: string[] }> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ...(['log', 'warn', 'info', 'error'] as const).map((level) =>
      jest.spyOn(console, level).mockImplementation((line) => void capture(line)),
    ),
  ];
  try {
    return { replies: await work(), written };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The JSON lines among `written`. */
function jsonLines(written: string[]): Record<string, unknown>[] {
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
