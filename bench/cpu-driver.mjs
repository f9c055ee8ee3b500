// Child of bench/cpu.ts, run under valgrind: imports one bundle and calls its `handler` with each
// of the first <n> inputs of <inputs file> (v8-serialized), one after the other. Plain JavaScript:
// nothing is transpiled or bundled around what is measured.
//   node bench/cpu-driver.mjs <bundle> <inputs file> <n>
import { readFileSync } from 'node:fs';
import { deserialize } from 'node:v8';

const [bundle, inputsFile, count] = process.argv.slice(2);
const inputs = deserialize(readFileSync(inputsFile));
const { handler } = await import(`file://${bundle}`);
const context = { getRemainingTimeInMillis: () => 10_000, functionName: 'bench', awsRequestId: 'bench' };
for (let i = 0; i < Number(count); i++) {
  const answer = await handler(inputs[i], context);
  if (answer && typeof answer === 'object' && 'statusCode' in answer && answer.statusCode !== 200)
    throw new Error(`call ${i} answered ${answer.statusCode}`);
}
process.exit(0);
