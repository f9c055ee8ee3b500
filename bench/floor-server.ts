/**
 * The same-request floor of `throughput.ts`: a bare `node:http` server that, for each hook it is
 * sent, makes the DynamoDB requests the hook itself makes (`cpu-floor.ts`), and nothing else. The
 * requests are the ones a steady-state call of that hook made when recorded (`cpu-record.ts`), with
 * the identifiers of the recorded body (session, stream, operation, name) replaced, wherever they
 * appear (keys, index keys, values), by those of the body received: each request meets the same
 * items and conditions as the hook's. Answers 200 with the body mirrored; 409 if a request failed on its
 * condition, which the recorded call's did not (the hook answered 200 to each body it was sent): the
 * floor would then be cheaper than the hook, and the bench counts it as an error.
 *
 * Environment: DYNAMODB_ENDPOINT, PORT, TEMPLATES (a `v8.serialize`d map of method to the recorded
 * `{ body, requests }`).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { deserialize } from 'node:v8';
import { handler as sendRequests } from './cpu-floor.ts';
import { mapStrings, type Requests } from './recording.ts';

const templates = deserialize(readFileSync(process.env.TEMPLATES as string)) as Record<
  string,
  { body: Record<string, unknown>; requests: Requests }
>;
const IDENTIFIERS = ['sessionId', 'mediaSessionId', 'operationId', 'name'] as const;

createServer(async (request, response) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  const method = (request.url ?? '').split('/').pop() ?? '';
  const template = templates[method];
  if (!template) {
    response.writeHead(404).end();
    return;
  }
  const body = JSON.parse(text) as Record<string, unknown>;
  const pairs = IDENTIFIERS.flatMap((key): [string, string][] =>
    typeof template.body[key] === 'string' && typeof body[key] === 'string'
      ? [[template.body[key] as string, body[key] as string]]
      : [],
  );
  const failed = await sendRequests(
    mapStrings(template.requests, (s) =>
      pairs.reduce((t, [from, to]) => t.replaceAll(from, to), s),
    ) as Requests,
  );
  response.writeHead(failed > 0 ? 409 : 200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
