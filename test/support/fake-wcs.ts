/**
 * A fake WCS node, built from `shared/reference/wcs-hooks.md`: it sends REST hooks as WCS does
 * (§0: POST `<app URL>/<method>`, `Content-Type: application/json;charset=UTF-8`, a Java user agent,
 * `Authorization: WCS <HMAC-MD5>` when `rest_hook_send_hash` is on) with bodies shaped like the
 * captures in §1.2–§1.4. WCS itself is closed source; this is the one stand-in the tests use.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

export interface FakeWcsOptions {
  /** The app's REST URL, e.g. `http://127.0.0.1:3000/hooks`. */
  readonly appUrl: string;
  readonly appKey?: string;
  /** WCS's `rest_hook_secret_key`; when set, hooks are signed (`rest_hook_send_hash=true`). */
  readonly secret?: string;
  /** The node's IP, the part after `@` in `nodeId`. */
  readonly ip?: string;
}

/** What WCS knows of one client WebSocket session. */
export interface WcsSession {
  readonly nodeId: string;
  readonly appKey: string;
  readonly sessionId: string;
}

/** One media session on a WCS session: a publish or a play. */
export interface WcsStream extends WcsSession {
  readonly mediaSessionId: string;
  readonly name: string;
  readonly published: boolean;
}

export interface HookReply {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
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

  /** The `connect` body of the §1.2 capture. */
  connectBody(session: WcsSession, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      ...session,
      useWsTunnel: false,
      useWsTunnelPacketization2: false,
      useBase64BinaryEncoding: false,
      mediaProviders: ['WebRTC', 'MSE', 'WSPlayer'],
      clientVersion: '2.0.248',
      clientOSVersion: '5.0 (X11; Linux x86_64)',
      clientBrowserVersion: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0',
      keepAlive: false,
      custom: {},
      ...extra,
    };
  }

  /** A ConnectionStatusEvent body (§1.4); on failure WCS sends only `status, info` and the context. */
  connectionStatusBody(session: WcsSession, status: string, info?: string): Record<string, unknown> {
    if (status === 'ESTABLISHED')
      return { ...this.connectBody(session), authToken: session.sessionId, status };
    return { ...session, status, ...(info !== undefined && { info }) };
  }

  /**
   * A stream object as WCS 5.2 logs it in StreamStatusEvent (§1.4), or, with `status` PENDING, as
   * publishStream/playStream carry it (§1.3).
   */
  streamBody(
    stream: WcsStream,
    status: string,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const live = status !== 'PENDING';
    return {
      ...stream,
      hasVideo: true,
      hasAudio: true,
      status,
      record: false,
      width: live ? 640 : 0,
      height: live ? 480 : 0,
      bitrate: 0,
      minBitrate: 0,
      maxBitrate: 0,
      quality: 0,
      mediaProvider: 'WebRTC',
      ...(live && {
        audioCodec: 'opus',
        videoCodec: 'H264',
        history: false,
        gop: 0,
        fps: 0,
        audioBitrate: 0,
        codecImpl: '',
        transport: 'UDP',
        cvoExtension: false,
        createDate: 1664260776957,
        mediaType: stream.published ? 'publish' : 'play',
        audioState: { muted: false },
        videoState: { muted: false },
      }),
      ...extra,
    };
  }

  /** The OnDataEvent body of §1.3. */
  dataBody(session: WcsSession, payload: unknown, operationId = randomUUID()): Record<string, unknown> {
    return { ...session, operationId, payload };
  }

  /** The `Authorization` WCS sends for `body` (§0.2). */
  sign(body: string | Buffer, secret = this.options.secret): string | undefined {
    return secret === undefined ? undefined : `WCS ${createHmac('md5', secret).update(body).digest('hex')}`;
  }

  /** Sends hook `method` with a JSON body, exactly as WCS serialises and signs it. */
  send(method: string, body: unknown): Promise<HookReply> {
    return this.sendRaw(method, JSON.stringify(body));
  }

  /** Sends hook `method` with `raw` as the body; `headers` override WCS's. */
  async sendRaw(
    method: string,
    raw: string | Buffer,
    headers: Record<string, string | undefined> = {},
  ): Promise<HookReply> {
    const authorization = this.sign(raw);
    const merged: Record<string, string | undefined> = {
      accept: 'application/json, application/*+json',
      'content-type': 'application/json;charset=UTF-8',
      'user-agent': 'Java/1.8.0_111',
      ...(authorization && { authorization }),
      ...headers,
    };
    const response = await fetch(`${this.options.appUrl}/${method}`, {
      method: 'POST',
      headers: Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >,
      body: raw,
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      text,
      json: parse(text),
    };
  }
}
