/**
 * Child of `cpu.ts`: runs a hook's handler (the sources, in this process) on each body of
 * `<bodies file>`, and writes the DynamoDB requests each call made, in order, as the
 * DocumentClient was given them (`v8.serialize`, so sets and bytes keep their types): the
 * same-request floor `cpu-floor.ts` replays. Environment: the tables and the DynamoDB endpoint.
 *
 *   node bench/cpu-record.ts <handler> <bodies file> <out file> <setup out file>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { hookEvent } from './cpu-events.ts';

const [handlerName, bodiesFile, outFile, setupFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const { setup, calls } = deserialize(readFileSync(bodiesFile)) as {
  setup: { handler: string; method: string; body: unknown }[];
  calls: { method: string; body: unknown }[];
};
const { dynamo } = await import('../shared/store/dynamo.ts');
let current: { name: string; input: unknown }[] = [];
const send = dynamo.send.bind(dynamo) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
(dynamo as unknown as { send: typeof send }).send = (command, ...rest) => {
  current.push({
    name: (command as object).constructor.name,
    input: structuredClone((command as { input: unknown }).input),
  });
  return send(command, ...rest);
};
const context = { getRemainingTimeInMillis: () => 10_000, functionName: 'bench', awsRequestId: 'bench' };
const handlers = new Map<string, (event: unknown, context: unknown) => Promise<{ statusCode: number }>>();
const handlerOf = async (name: string) => {
  let handler = handlers.get(name);
  if (!handler) {
    handler = ((await import(`../functions/${name}.ts`)) as { handler: typeof handler })
      .handler as NonNullable<typeof handler>;
    handlers.set(name, handler);
  }
  return handler;
};
const setupCalls: { name: string; input: unknown }[][] = [];
for (const step of setup) {
  current = [];
  const answer = await (await handlerOf(step.handler))(hookEvent(step.method, step.body), context);
  if (answer.statusCode !== 200) throw new Error(`setup ${step.method} answered ${answer.statusCode}`);
  setupCalls.push(current);
}
const recorded: { name: string; input: unknown }[][] = [];
for (const call of calls) {
  current = [];
  const answer = await (await handlerOf(handlerName))(hookEvent(call.method, call.body), context);
  if (answer.statusCode !== 200) throw new Error(`${call.method} answered ${answer.statusCode}`);
  recorded.push(current);
}
writeFileSync(outFile, serialize(recorded));
writeFileSync(setupFile, serialize(setupCalls));
process.exit(0);
