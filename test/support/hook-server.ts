/**
 * Starts the local hook server (the same code `npm start` serves) on a free loopback port for one
 * test file. Environment overrides (e.g. `WCS_HOOK_SECRET`) are applied before the handlers load,
 * since they read their configuration once, at load, as a Lambda function does.
 */
import type { AddressInfo } from 'node:net';
import { concurrentInvokeStore } from '../../infra/local/invocations.ts';
import { HOOKS_PATH } from '../../shared/kernel/registry.ts';

// At import, before the test file's first AWS SDK request: the local runtime runs its invocations at
// once, each in its own scope (`infra/local/invocations.ts`).
await concurrentInvokeStore();

export interface RunningHookServer {
  /** The app REST URL to give WCS, e.g. `http://127.0.0.1:41234/hooks`. */
  readonly appUrl: string;
  readonly baseUrl: string;
  close(): Promise<void>;
}

export interface HookServerOptions {
  /** Also run the sender on the local send queue (as `npm start` does). Default false. */
  readonly sender?: boolean | { maxReceiveCount?: number; visibilityMs?: number };
  /** Also replay the local spill (`SPILL_DIR`) every this many ms, as `npm start` does. Default: no. */
  readonly drainSpillEveryMs?: number;
  /** Also serve the realtime API at `/ws`, fed by DynamoDB Local's streams (as `npm start` does). Default false. */
  readonly realtime?: boolean;
  /** Also run the node poller on a timer (as `npm start` does). Default false. */
  readonly poller?: boolean;
  /** Also serve the endpoints API at `/ws/<code>` (as `npm start` does). Default false. */
  readonly endpoints?: boolean;
  /** Also keep the usage aggregates from DynamoDB Local's streams (as `npm start` does). Default false. */
  readonly usage?: boolean;
}

export async function startHookServer(
  env: Record<string, string> = {},
  options: HookServerOptions = {},
): Promise<RunningHookServer> {
  Object.assign(process.env, env);
  const { startLocalRuntime } = await import('../../infra/local/hook-server.ts');
  const runtime = await startLocalRuntime({
    sender: options.sender ?? false,
    drainSpillEveryMs: options.drainSpillEveryMs ?? 0,
    realtime: options.realtime ?? false,
    poller: options.poller ?? false,
    endpoints: options.endpoints ?? false,
    usage: options.usage ?? false,
  });
  const { server } = runtime;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    appUrl: `${baseUrl}${HOOKS_PATH}`,
    baseUrl,
    close: async () => {
      await runtime.stop();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
