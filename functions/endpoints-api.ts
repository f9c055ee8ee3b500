/**
 * `/api/endpoints`: the WebSocket endpoints for user agents (`docs/endpoints.md`).
 *
 *   GET    /api/endpoints                      every endpoint
 *   PUT    /api/endpoints/{code}               create or replace one (the body: its definition); disabled, its sockets are closed (4403)
 *   GET    /api/endpoints/{code}               one
 *   DELETE /api/endpoints/{code}               remove one, closing its sockets (4404)
 *   POST   /api/endpoints/{code}/messages      sendMessage: {"user", "text", "wcs"?}; without user, to everyone
 *   GET    /api/endpoints/{code}/messages?user=U   the last messages sent to U (`*`: broadcasts)
 *   GET    /api/endpoints/{code}/presence      who is on it
 */
import * as z from 'zod/mini';
import {
  broadcastMessage,
  closeEndpointSessions,
  EndpointNotFoundError,
  presenceOn,
  SESSION_CLOSE,
  sendMessage,
} from '#shared/endpoints/lifecycle.ts';
import { managementUrlOf } from '#shared/endpoints/management.ts';
import { apiHandler } from '#shared/http/api-handler.ts';
import { HookError } from '#shared/kernel/errors.ts';
import { messagesTo } from '#shared/state/endpoint-messages.ts';
import {
  deleteEndpoint,
  findEndpoint,
  InvalidEndpointError,
  listEndpoints,
  putEndpoint,
  redactedEndpoint,
} from '#shared/state/endpoints.ts';

const messageRequest = z.strictObject({
  user: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  text: z.string().check(z.maxLength(128 * 1024)),
  wcs: z.optional(z.boolean()),
});

const notFound = (code: string) => new HookError(404, 'NotFound', `no endpoint ${code}`);

export const handler = apiHandler({
  schema: z.unknown(),
  handle: async (body, event) => {
    const method = event.requestContext.http.method;
    const [, , , code, sub, ...rest] = event.rawPath.split('/').map(decodeURIComponent);
    if (code === undefined || code === '') {
      if (method === 'GET') return { body: (await listEndpoints()).map(redactedEndpoint) };
    } else if (sub === undefined && rest.length === 0) {
      if (method === 'GET') {
        const endpoint = await findEndpoint(code);
        if (!endpoint) throw notFound(code);
        return { body: redactedEndpoint(endpoint) };
      }
      if (method === 'PUT') {
        try {
          const endpoint = await putEndpoint(code, body ?? {});
          if (endpoint.enabled) return { body: redactedEndpoint(endpoint) };
          const closed = await closeEndpointSessions(
            endpoint,
            SESSION_CLOSE.endpointDisabled,
            managementUrlOf(),
          );
          return { body: { ...redactedEndpoint(endpoint), closed } };
        } catch (error) {
          if (error instanceof InvalidEndpointError)
            throw new HookError(400, 'ValidationError', error.message, { details: error.problems });
          throw error;
        }
      }
      if (method === 'DELETE') {
        const endpoint = await findEndpoint(code);
        if (!endpoint || !(await deleteEndpoint(code))) throw notFound(code);
        const closed = await closeEndpointSessions(
          endpoint,
          SESSION_CLOSE.endpointDeleted,
          managementUrlOf(),
        );
        return { body: { deleted: code, closed } };
      }
    } else if (sub === 'presence' && rest.length === 0 && method === 'GET') {
      if (!(await findEndpoint(code))) throw notFound(code);
      return { body: await presenceOn(code) };
    } else if (sub === 'messages' && rest.length === 0 && method === 'GET') {
      const user = event.queryStringParameters?.user;
      if (!user)
        throw new HookError(400, 'ValidationError', 'the user (?user=, `*` for broadcasts) is required');
      return { body: await messagesTo(code, user) };
    } else if (sub === 'messages' && rest.length === 0 && method === 'POST') {
      const parsed = z.safeParse(messageRequest, body);
      if (!parsed.success)
        throw new HookError(
          400,
          'ValidationError',
          parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
        );
      const { user, text, wcs } = parsed.data;
      const via = managementUrlOf();
      try {
        if (user === undefined) {
          if (wcs) throw new HookError(400, 'ValidationError', 'wcs: only with a user');
          return { body: await broadcastMessage(code, text, { via, origin: 'operator' }) };
        }
        return { body: await sendMessage(code, user, text, { via, origin: 'operator', wcs }) };
      } catch (error) {
        if (error instanceof EndpointNotFoundError) throw notFound(code);
        throw error;
      }
    }
    throw new HookError(404, 'NotFound', `no route ${method} ${event.rawPath}`);
  },
});
