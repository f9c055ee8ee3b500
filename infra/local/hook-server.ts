/**
 * The local HTTP server: `POST /hooks/{method}` for every hook, answered by the handler the
 * registry names for it, exactly as API Gateway routes it in AWS (a dedicated route per handler, the
 * catch-all `POST /hooks/{method}` for the rest).
 */
import { createServer, type Server } from 'node:http';
import { findHook, HANDLERS, type HandlerName } from '#shared/hooks.ts';
import { logger } from '#shared/logger.ts';
import {
  type LambdaHandler,
  localContext,
  readBody,
  toHttpApiEvent,
  writeJson,
  writeResult,
} from './lambda-adapter.ts';

/** The path under which WCS is pointed: the app's REST URL is `<base>/hooks`, WCS appends `/<method>`. */
export const HOOKS_PATH = '/hooks';

export type HookHandlers = Readonly<Record<HandlerName, LambdaHandler>>;

/** Imports every handler in `functions/`, as each Lambda function would at its cold start. */
export async function loadHookHandlers(): Promise<HookHandlers> {
  const entries = await Promise.all(
    (Object.keys(HANDLERS) as HandlerName[]).map(async (name) => {
      const module = (await import(`../../functions/${name}.ts`)) as { handler: LambdaHandler };
      return [name, module.handler] as const;
    }),
  );
  return Object.fromEntries(entries) as HookHandlers;
}

/** The HTTP server that serves `handlers`; not yet listening. */
export function createHookServer(handlers: HookHandlers): Server {
  return createServer(async (request, response) => {
    try {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (pathname === '/health') return writeJson(response, 200, { status: 'ok' });
      const match = /^\/hooks\/([^/]+)$/.exec(pathname);
      const method = match?.[1] ? decodeURIComponent(match[1]) : undefined;
      const hook = method === undefined ? undefined : findHook(method);
      if (!method || !hook) {
        return writeJson(response, 404, {
          error: 'NotFound',
          message: `no hook at ${pathname}; hooks are POST ${HOOKS_PATH}/{method}`,
        });
      }
      if (request.method !== 'POST') {
        response.setHeader('allow', 'POST');
        return writeJson(response, 405, {
          error: 'MethodNotAllowed',
          message: 'WCS sends every hook as POST',
        });
      }
      const body = await readBody(request);
      if (body === undefined) {
        return writeJson(response, 413, { error: 'PayloadTooLarge', message: 'body exceeds 10 MB' });
      }
      const routeKey =
        hook.handler === 'echo' ? `POST ${HOOKS_PATH}/{method}` : `POST ${HOOKS_PATH}/${method}`;
      const event = toHttpApiEvent(request, body, { routeKey, pathParameters: { method } });
      const result = await handlers[hook.handler](event, localContext(`wcs-hooks-${hook.handler}`));
      writeResult(response, result);
    } catch (error) {
      logger.error('local server failed to answer', error as Error);
      if (!response.headersSent)
        writeJson(response, 500, { error: 'InternalError', message: 'the local server failed' });
      else response.destroy();
    }
  });
}
