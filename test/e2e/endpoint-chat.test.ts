/**
 * The browser example of docs/endpoints.md in headless Chromium: two users sign in to an endpoint
 * whose logic is the app's own module (a relay that keeps a count in the session's context), they
 * exchange messages, an operator's sendMessage reaches one of them, and the logic sees open,
 * message, error (a message over API Gateway's 128 KiB closes the socket with 1009) and close, each
 * with its context. Waits are bounded; no time is asserted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { launchChromium } from '../support/chromium.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { HS256_SECRET } from '../support/tokens.ts';

const API_TOKEN = 'endpoint-chat-operator';
const app = `chat-${randomUUID().slice(0, 8)}`;
const code = `chat-${randomUUID().slice(0, 8)}`;

/** The app's own logic: relays `{to, text}`, counts each user's messages in the context, records what it sees. */
const LOGIC = `
export async function handler(event) {
  (globalThis.chatEvents ??= []).push(event);
  if (event.event === 'open') return { context: { sent: 0 } };
  if (event.event !== 'message') return {};
  const { to, text } = JSON.parse(event.message);
  return {
    context: { sent: event.context.sent + 1 },
    send: [{ user: to, text: JSON.stringify({ type: 'message', from: event.session.user, text }) }],
  };
}
`;

let server: RunningHookServer;
let browser: Browser;
const events = () =>
  ((globalThis as { chatEvents?: Record<string, unknown>[] }).chatEvents ?? []).filter(
    (e) => e.endpoint === code,
  );

async function signIn(user: string): Promise<Page> {
  const token = await issueClientToken(HS256_SECRET, { sub: user, aud: app }, 600);
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.baseUrl}/examples/endpoint-chat.html?endpoint=${code}&token=${token}`);
  await page.locator('#status', { hasText: 'open' }).waitFor({ timeout: 15_000 });
  return page;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-logic-'));
  writeFileSync(join(dir, 'chat.mjs'), LOGIC);
  server = await startHookServer({ API_TOKEN, ENDPOINT_MODULE_DIR: dir }, { endpoints: true });
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(app, { admission: 'token', hs256Secret: HS256_SECRET });
  const put = await fetch(`${server.baseUrl}/api/endpoints/${code}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ appKey: app, description: 'chat', logic: { kind: 'module', path: 'chat.mjs' } }),
  });
  expect(put.status).toBe(200);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the endpoint chat page', () => {
  it('lets two users talk through the app logic, shows an operator message, and the logic sees the whole lifecycle with its context', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');

    await alice.fill('#to', 'bob');
    await alice.fill('#text', 'hello bob');
    await alice.click('button');
    await bob.locator('#messages li', { hasText: 'alice: hello bob' }).waitFor({ timeout: 15_000 });
    await bob.fill('#to', 'alice');
    await bob.fill('#text', 'hi alice');
    await bob.click('button');
    await alice.locator('#messages li', { hasText: 'bob: hi alice' }).waitFor({ timeout: 15_000 });

    const sent = await fetch(`${server.baseUrl}/api/endpoints/${code}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bob', text: 'The stream starts in 5 minutes' }),
    });
    expect(await sent.json()).toMatchObject({ outcome: 'SENT', sent: 1 });
    await bob
      .locator('#messages li', { hasText: 'The stream starts in 5 minutes' })
      .waitFor({ timeout: 15_000 });
    expect(await alice.locator('#messages li', { hasText: 'The stream starts' }).count()).toBe(0);

    // Over API Gateway's 128 KiB: the socket is closed with 1009, an error for the logic.
    await alice.evaluate(() =>
      (globalThis as unknown as { chat: { socket: { send(text: string): void } } }).chat.socket.send(
        'x'.repeat(200_000),
      ),
    );
    await alice.locator('#status', { hasText: 'closed (1009)' }).waitFor({ timeout: 15_000 });
    await bob.close();

    const deadline = Date.now() + 15_000;
    while (events().filter((e) => e.event === 'close').length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const of = (user: string) =>
      events()
        .filter((e) => (e.session as { user: string }).user === user)
        .map((e) => ({
          event: e.event,
          context: e.context,
          ...('reasonCode' in e && { reasonCode: e.reasonCode }),
        }));
    expect(of('alice')).toEqual([
      { event: 'open', context: {} },
      { event: 'message', context: { sent: 0 } },
      { event: 'error', context: { sent: 1 } },
      { event: 'close', context: { sent: 1 }, reasonCode: 1009 },
    ]);
    expect(of('bob').map((e) => e.event)).toEqual(['open', 'message', 'close']);
    expect(of('bob').at(-1)?.context).toEqual({ sent: 1 });
  });
});
