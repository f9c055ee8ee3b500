/**
 * A fake WCS node, built from `shared/reference/wcs-hooks.md`: it sends REST hooks as WCS does
 * (§0: POST `<app URL>/<method>`, `Content-Type: application/json;charset=UTF-8`, a Java user agent,
 * `Authorization: WCS <HMAC-MD5>` when `rest_hook_send_hash` is on) with bodies shaped like the
 * captures in §1.2–§1.4 (built and sent by `infra/simulate/wcs-hooks.ts`, which the traffic
 * simulator shares). WCS itself is closed source; this is the one stand-in the tests use.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { HookReply, WcsSession, WcsStream } from '../../infra/simulate/wcs-hooks.ts';
import * as wcs from '../../infra/simulate/wcs-hooks.ts';

export type { HookReply, WcsSession, WcsStream };

export interface FakeWcsOptions {
  /** The app's REST URL, e.g. `http://127.0.0.1:3000/hooks`. */
  readonly appUrl: string;
  readonly appKey?: string;
  /** WCS's `rest_hook_secret_key`; when set, hooks are signed (`rest_hook_send_hash=true`). */
  readonly secret?: string;
  /** The node's IP, the part after `@` in `nodeId`. */
  readonly ip?: string;
}

export class FakeWcs {
  readonly nodeId: string;
  readonly appKey: string;
  private readonly options: FakeWcsOptions;

  constructor(options: FakeWcsOptions) {
    this.options = options;
    this.appKey = options.appKey ?? 'defaultApp';
    // §1.2: "32-char id @ server IP".
    this.nodeId = `${randomBytes(24).toString('base64url').slice(0, 32)}@${options.ip ?? '127.0.0.1'}`;
  }

  /** The sessions this node holds: its REST API answers 404 for any other (see fake-wcs-rest.ts). */
  readonly heldSessions = new Set<string>();

  /**
   * The media sessions this node has live, with their metrics as `/rest-api/stream/metrics` gives
   * them (reference §4): what its REST API's `stream/find_all`, `stream/find` and `stream/metrics`
   * answer (see fake-wcs-rest.ts).
   */
  readonly liveStreams = new Map<
    string,
    WcsStream & { status: string; metrics: Record<string, number | string> }
  >();

  /** Reports `stream` live (StreamStatusEvent PUBLISHING or PLAYING) and holds it, with `metrics`. */
  async goLive(stream: WcsStream, metrics: Record<string, number | string> = {}): Promise<HookReply> {
    const status = stream.published ? 'PUBLISHING' : 'PLAYING';
    this.liveStreams.set(stream.mediaSessionId, { ...stream, status, metrics });
    return this.send('StreamStatusEvent', this.streamBody(stream, status));
  }

  /** Reports `stream` ended (UNPUBLISHED or STOPPED) and no longer holds it. */
  async end(stream: WcsStream): Promise<HookReply> {
    this.liveStreams.delete(stream.mediaSessionId);
    return this.send(
      'StreamStatusEvent',
      this.streamBody(stream, stream.published ? 'UNPUBLISHED' : 'STOPPED'),
    );
  }

  /**
   * Holds `stream` live without telling the backend (its PUBLISHING or PLAYING hook lost), or, with
   * `live` false, drops it without a word (its end hook lost, or the node restarted).
   */
  holdSilently(stream: WcsStream, live = true): void {
    if (live)
      this.liveStreams.set(stream.mediaSessionId, {
        ...stream,
        status: stream.published ? 'PUBLISHING' : 'PLAYING',
        metrics: {},
      });
    else this.liveStreams.delete(stream.mediaSessionId);
  }

  /** Forgets `session` without a ConnectionStatusEvent (its DISCONNECTED hook lost), and its streams. */
  dropSilently(session: WcsSession): void {
    this.heldSessions.delete(session.sessionId);
    for (const [id, stream] of this.liveStreams)
      if (stream.sessionId === session.sessionId) this.liveStreams.delete(id);
  }

  /** Reports `session` ended (ConnectionStatusEvent DISCONNECTED) and no longer holds it or its streams. */
  async disconnect(session: WcsSession): Promise<HookReply> {
    this.dropSilently(session);
    return this.send(
      'ConnectionStatusEvent',
      this.connectionStatusBody(session, 'DISCONNECTED', 'Normal disconnect'),
    );
  }

  /** The metrics of a live stream from now on (what the next poll reads). */
  setMetrics(mediaSessionId: string, metrics: Record<string, number | string>): void {
    const stream = this.liveStreams.get(mediaSessionId);
    if (stream) stream.metrics = metrics;
  }

  /** A new client session with a fresh UUID `sessionId` (the 2022+ form, §1.2), held by this node. */
  newSession(): WcsSession {
    const session = { nodeId: this.nodeId, appKey: this.appKey, sessionId: randomUUID() };
    this.heldSessions.add(session.sessionId);
    return session;
  }

  /** Connects each session (`connect`, then ESTABLISHED when admitted): the `connect` answers' statuses. */
  async connectAll(sessions: readonly WcsSession[]): Promise<number[]> {
    const statuses: number[] = [];
    for (const session of sessions) {
      const { status } = await this.send('connect', this.connectBody(session));
      statuses.push(status);
      if (status === 200)
        await this.send('ConnectionStatusEvent', this.connectionStatusBody(session, 'ESTABLISHED'));
    }
    return statuses;
  }

  /** A new media session for `session`. */
  newStream(session: WcsSession, name: string, published: boolean): WcsStream {
    return { ...session, mediaSessionId: randomUUID(), name, published };
  }

  /** The `connect` body of the §1.2 capture (`infra/simulate/wcs-hooks.ts`). */
  connectBody(session: WcsSession, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return wcs.connectBody(session, extra);
  }

  /** A ConnectionStatusEvent body (§1.4). */
  connectionStatusBody(session: WcsSession, status: string, info?: string): Record<string, unknown> {
    return wcs.connectionStatusBody(session, status, info);
  }

  /** A stream object as StreamStatusEvent carries it, or, PENDING, as publishStream/playStream do. */
  streamBody(
    stream: WcsStream,
    status: string,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    return wcs.streamBody(stream, status, extra);
  }

  /** The OnDataEvent body of §1.3. */
  dataBody(session: WcsSession, payload: unknown, operationId = randomUUID()): Record<string, unknown> {
    return wcs.dataBody(session, payload, operationId);
  }

  /** The `Authorization` WCS sends for `body` (§0.2). */
  sign(body: string | Buffer, secret = this.options.secret): string | undefined {
    return wcs.wcsAuthorization(body, secret);
  }

  /** Sends hook `method` with a JSON body, exactly as WCS serialises and signs it. */
  send(method: string, body: unknown): Promise<HookReply> {
    return this.sendRaw(method, JSON.stringify(body));
  }

  /** Sends hook `method` with `raw` as the body; `headers` override WCS's. */
  sendRaw(
    method: string,
    raw: string | Buffer,
    headers: Record<string, string | undefined> = {},
  ): Promise<HookReply> {
    return wcs.sendHook(this.options.appUrl, method, raw, {
      ...(this.options.secret !== undefined && { secret: this.options.secret }),
      headers,
    });
  }
}
