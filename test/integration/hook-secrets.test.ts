/**
 * The hook secrets from Secrets Manager (`shared/http/secrets.ts`) while Secrets Manager cannot be
 * reached: the secrets last read keep verifying hooks for a bounded time (every hook would otherwise
 * be answered 500), then the failure shows. Secrets Manager is a stand-in on loopback that answers
 * the first read and is then gone; the clock is moved past the cache instead of waited for.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:wcs-hook-AbCdEf';
let server: Server;
let reads = 0;
let hookSecrets: typeof import('../../shared/http/secrets.ts').hookSecrets;
let LAST_GOOD_MS: number;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      reads++;
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({ ARN, Name: 'wcs-hook', SecretString: 'new-secret, old-secret', VersionId: 'v1' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.WCS_HOOK_SECRET_ARN = ARN;
  ({ hookSecrets, LAST_GOOD_MS } = await import('../../shared/http/secrets.ts'));
  // Only the clock: the SDK's own timers and sockets run as they do.
  jest.useFakeTimers({
    doNotFake: [
      'setTimeout',
      'clearTimeout',
      'setImmediate',
      'setInterval',
      'nextTick',
      'queueMicrotask',
      'hrtime',
      'performance',
    ],
  });
});
afterAll(() => {
  jest.useRealTimers();
  server.close();
});

describe('the hook secrets while Secrets Manager is unreachable', () => {
  it('are the last read for a bounded time, then the failure shows', async () => {
    const start = Date.now();
    expect(await hookSecrets()).toEqual(['new-secret', 'old-secret']);
    expect(reads).toBe(1);
    server.close();
    server.closeAllConnections();

    // Past the cache: Secrets Manager is asked again, and cannot answer.
    jest.setSystemTime(start + 10 * 60_000);
    expect(await hookSecrets()).toEqual(['new-secret', 'old-secret']);

    jest.setSystemTime(start + LAST_GOOD_MS + 60_000);
    await expect(hookSecrets()).rejects.toThrow();
  });
});
