// Child of bench/cpu.ts, run under valgrind: imports one bundle and calls its `handler` with each
// of the first <n> inputs of <inputs file> (v8-serialized), one after the other. Plain JavaScript:
// nothing is transpiled or bundled around what is measured.
//   node bench/cpu-driver.mjs <bundle> <inputs file> <n> [<profile out> <from>]
// With <profile out>: run without valgrind, a V8 CPU profile of calls <from> to <n> is written there
// (the import and the first calls, the warm-up, left out).
import { readFileSync, writeFileSync } from 'node:fs';
import { deserialize } from 'node:v8';

const [bundle, inputsFile, count, profileOut, from] = process.argv.slice(2);
const inputs = deserialize(readFileSync(inputsFile));
const { handler } = await import(`file://${bundle}`);
// Time left as the budgets in cpu.ts allow: under valgrind on a loaded machine a cold first call can
// take longer than 10 s, and middy would answer it 500 at its timeout.
const context = { getRemainingTimeInMillis: () => 600_000, functionName: 'bench', awsRequestId: 'bench' };
// Loaded only for a profile: a counted run imports nothing more than the bundle.
const session = profileOut ? new (await import('node:inspector/promises')).Session() : undefined;
for (let i = 0; i < Number(count); i++) {
  if (session && i === Number(from)) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 50 });
    await session.post('Profiler.start');
  }
  const answer = await handler(inputs[i], context);
  if (answer && typeof answer === 'object' && 'statusCode' in answer && answer.statusCode !== 200)
    throw new Error(`call ${i} answered ${answer.statusCode}`);
}
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profileOut, JSON.stringify(profile));
}
process.exit(0);
