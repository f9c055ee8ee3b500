/**
 * `POST /api/data/send`: push data to clients. `target` is a session, a user, a stream's players or
 * an app; `mode` `sync` sends now and answers with each outcome, `async` queues a job and answers
 * 202 with its id. Default: sync for a session or a user, async for a stream or an app.
 */
import { z } from 'zod';
import { apiHandler } from '#shared/api-handler.ts';
import { sendTarget } from '#shared/send-targets.ts';
import { sendLater, sendNow } from '#shared/sender.ts';

const sendRequest = z.strictObject({
  target: sendTarget,
  payload: z.unknown().refine((value) => value !== undefined, 'payload is required'),
  mode: z.enum(['sync', 'async']).optional(),
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
