/**
 * `POST /api/data/send`: push data to clients. `target` is a session, a user, a stream's players or
 * an app; `mode` `sync` sends now and answers with each outcome, `async` queues a job and answers
 * 202 with its id. Default: sync for a session or a user, async for a stream or an app.
 */
import * as z from 'zod/mini';
import { apiHandler } from '#shared/http/api-handler.ts';
import { sendTarget } from '#shared/sender/send-targets.ts';
import { sendLater, sendNow } from '#shared/sender/sender.ts';

const sendRequest = z.strictObject({
  target: sendTarget,
  payload: z.unknown().check(z.refine((value) => value !== undefined, 'payload is required')),
  mode: z.optional(z.enum(['sync', 'async'])),
});

export const handler = apiHandler({
  schema: sendRequest,
  handle: async ({ target, payload, mode }) => {
    const async = mode
      ? mode === 'async'
      : 'streamName' in target || !('userId' in target || 'sessionId' in target);
    if (async) return { statusCode: 202, body: await sendLater(target, payload) };
    return { body: await sendNow(target, payload) };
  },
});
