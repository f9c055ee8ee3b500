/**
 * The built-in logic, for endpoints that need no code of the app's own:
 * - `relay`: a message `{"to": "<user>", "text": "..."}` goes to every connection of that user, as
 *   `{"type":"message","from":"<sender>","text":"..."}`;
 * - `broadcast`: a message goes to everyone on the endpoint (the sender too), as
 *   `{"type":"message","from":"<sender>","text":"<the message>"}`;
 * - `echo`: a message comes back as it was.
 * A relay message that is not `{to, text}` is answered `{"type":"error","error":"BadMessage",...}`.
 */
import type { BUILT_IN_LOGIC } from '../state/endpoints.ts';
import type { EndpointEvent, LogicAnswer } from './logic.ts';

/** What a user agent receives from another user through the built-in logic. */
export function userMessage(from: string, text: string): string {
  return JSON.stringify({ type: 'message', from, text });
}

/** What a user agent receives when wcs-hooks refuses or cannot handle what it sent. */
export function errorMessage(error: string, message: string): string {
  return JSON.stringify({ type: 'error', error, message });
}

function relayOf(message: string): { to: string; text: string } | undefined {
  try {
    const parsed = JSON.parse(message) as { to?: unknown; text?: unknown };
    if (typeof parsed.to === 'string' && parsed.to !== '' && typeof parsed.text === 'string')
      return { to: parsed.to, text: parsed.text };
  } catch {}
  return undefined;
}

/** The answer of built-in logic `name` to `event`. */
export function builtInLogic(name: (typeof BUILT_IN_LOGIC)[number], event: EndpointEvent): LogicAnswer {
  if (event.event !== 'message' || event.message === undefined) return {};
  const from = event.session.user;
  switch (name) {
    case 'echo':
      return { reply: event.message };
    case 'broadcast':
      return { broadcast: userMessage(from, event.message) };
    case 'relay': {
      const relay = relayOf(event.message);
      if (!relay)
        return { reply: errorMessage('BadMessage', 'relay expects {"to": "<user>", "text": "..."}') };
      return { send: [{ user: relay.to, text: userMessage(from, relay.text) }] };
    }
  }
}
