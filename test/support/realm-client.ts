/**
 * The monitoring API's realms as an OAM client calls them, for the tests: `POST /api/<realm>` with
 * the operator token (the HTTP status beside OAM's `{status, reason, payload}`), and a hand-typed
 * STOMP client connected and subscribed to `/user/service`, closed with `closeAll`.
 */
import { expect } from '@jest/globals';
import type { RunningHookServer } from './hook-server.ts';
import { RawStompClient } from './raw-stomp.ts';

/** A realm's answer over REST: the HTTP status, and the body. */
export interface RestRealmAnswer {
  readonly http: number;
  readonly status: number;
  readonly reason: string;
  readonly payload?: unknown;
  /** A paged list's: how many match, whether more follow this page. */
  readonly total?: number;
  readonly more?: boolean;
}

export function realmClients(server: () => RunningHookServer, token: string) {
  const raws: RawStompClient[] = [];
  const wsUrl = () => `${server().baseUrl.replace('http', 'ws')}/ws?token=${token}`;
  return {
    wsUrl,
    /** `POST /api/<realm>` with the operator token. */
    async restRealm(realm: string, payload: unknown): Promise<RestRealmAnswer> {
      const response = await fetch(`${server().baseUrl}/api/${realm}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(payload),
      });
      return { http: response.status, ...((await response.json()) as Omit<RestRealmAnswer, 'http'>) };
    },
    /** A raw STOMP client, connected, subscribed to `/user/service` as `sub-1`. */
    async rawClient(): Promise<RawStompClient> {
      const raw = await RawStompClient.open(wsUrl());
      raws.push(raw);
      expect((await raw.connect()).command).toBe('CONNECTED');
      raw.send('SUBSCRIBE', { id: 'sub-1', destination: '/user/service' });
      return raw;
    },
    closeAll(): void {
      for (const raw of raws) raw.close();
    },
  };
}
