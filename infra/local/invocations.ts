/**
 * The local runtime runs many invocations at once in one process, where Lambda runs one per
 * execution environment, except on Lambda Managed Instances: there the runtime sets
 * `AWS_LAMBDA_MAX_CONCURRENCY` and runs each invocation in its `InvokeStore`
 * (`@aws/lambda-invoke-store`), and Powertools' logger keeps each invocation's keys and Lambda
 * context in it. The local runtime does the same, so one hook's log lines never carry the
 * `sessionId` or request id of a hook running beside it.
 *
 * The store is made once per process, at the first call that asks for it (the AWS SDK asks at its
 * first request), for one invocation at a time unless `AWS_LAMBDA_MAX_CONCURRENCY` is set by then:
 * a process that runs the local runtime calls `concurrentInvokeStore` before anything else.
 */
import type { InvokeStoreBase } from '@aws/lambda-invoke-store';

/** As many as the local runtime may run at once (a Lambda Managed Instance's default is 64 per vCPU). */
const LOCAL_MAX_CONCURRENCY = '64';

let made: Promise<InvokeStoreBase> | undefined;

/**
 * Sets `AWS_LAMBDA_MAX_CONCURRENCY` (unless set) and makes the process's `InvokeStore` at once, as
 * the runtime of Lambda Managed Instances does before it loads a function: from then on, Powertools
 * keeps what an invocation sets in its store. Call it before the process's first AWS SDK request. The
 * store is checked to keep invocations that run at once apart: a clear error if it was made for one
 * at a time (something asked for it first).
 */
export function concurrentInvokeStore(): Promise<InvokeStoreBase> {
  made ??= make();
  return made;
}

async function make(): Promise<InvokeStoreBase> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ||= LOCAL_MAX_CONCURRENCY;
  const { InvokeStore } = await import('@aws/lambda-invoke-store');
  const store = await InvokeStore.getInstanceAsync();
  const probe = Symbol('probe');
  const seen = await Promise.all(
    [1, 2].map((n) =>
      store.run({ [probe]: n }, async () => {
        await Promise.resolve();
        return store.get(probe);
      }),
    ),
  );
  if (seen[0] !== 1 || seen[1] !== 2)
    throw new Error(
      'the local runtime runs invocations at once, but this process made its InvokeStore for one at a time: ' +
        'call concurrentInvokeStore() (infra/local/invocations.ts) before its first AWS SDK request',
    );
  return store;
}
