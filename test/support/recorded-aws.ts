/**
 * A stand-in for the AWS APIs `npm run preflight` reads, on loopback: it answers each operation with
 * an answer recorded in AWS's own wire format (JSON for Lambda, API Gateway, Service Quotas and SSM;
 * XML for CloudFront and CloudFormation, whose requests are forms), errors included. Point the SDK at it with `AWS_ENDPOINT_URL` and any
 * credentials; it checks no signature. An operation without a recorded answer is a 500, so a test
 * sees a read it did not expect.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One recorded answer: its status, headers, and body (an object is sent as JSON). */
export interface RecordedAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Recorded answers by operation: `lambda:GetAccountSettings`, `ssm:GetParameter`, ... */
export type Recording = Readonly<Record<string, RecordedAnswer>>;

/** A request the stand-in got: its operation and, for the JSON protocols, its input. */
export interface RecordedRequest {
  readonly operation: string;
  readonly input?: unknown;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'preflight');

/** The recording `name` in `test/fixtures/preflight/<name>.json`. */
export function recording(name: string): Recording {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Recording;
}

/** The operation a request is, by the routes (REST protocols) or the `X-Amz-Target` (JSON 1.1) of each API. */
function operationOf(request: IncomingMessage): string | undefined {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const target = request.headers['x-amz-target'];
  if (request.method === 'GET' && path === '/2016-08-19/account-settings') return 'lambda:GetAccountSettings';
  if (request.method === 'GET' && path === '/account') return 'apigateway:GetAccount';
  if (request.method === 'GET' && path === '/2020-05-31/distribution') return 'cloudfront:ListDistributions';
  if (target === 'ServiceQuotasV20190624.GetServiceQuota') return 'servicequotas:GetServiceQuota';
  if (target === 'AmazonSSM.GetParameter') return 'ssm:GetParameter';
  return undefined;
}

/** The `Action` of a query-protocol request (CloudFormation): `cloudformation:GetTemplate`. */
function queryOperationOf(text: string): string | undefined {
  const action = new URLSearchParams(text).get('Action');
  return action ? `cloudformation:${action}` : undefined;
}

/** Serves `answers` on 127.0.0.1 until `close()`; `requests` lists what was asked, in order. */
export async function serveRecording(answers: Recording) {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const form = /x-www-form-urlencoded/.test(request.headers['content-type'] ?? '');
      const operation =
        operationOf(request) ??
        (form ? queryOperationOf(text) : undefined) ??
        `${request.method} ${request.url}`;
      const input = form
        ? Object.fromEntries(new URLSearchParams(text))
        : text
          ? JSON.parse(text)
          : undefined;
      requests.push({ operation, ...(input !== undefined && { input }) });
      const answer = answers[operation];
      if (!answer) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: `no recorded answer for ${operation}` }));
        return;
      }
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      const contentType = typeof answer.body === 'string' ? 'text/xml' : 'application/json';
      response.writeHead(answer.status, {
        'content-type': contentType,
        'x-amzn-requestid': 'recorded',
        ...answer.headers,
      });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
