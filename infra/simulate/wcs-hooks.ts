/**
 * WCS's REST hooks as a WCS node sends them, built from `shared/reference/wcs-hooks.md`: bodies
 * shaped like the captures in §1.2–§1.4, sent as §0 says (POST `<app URL>/<method>`,
 * `Content-Type: application/json;charset=UTF-8`, a Java user agent, `Authorization: WCS <HMAC-MD5>`
 * when `rest_hook_send_hash` is on). WCS itself is closed source: the tests' fake node
 * (`test/support/fake-wcs.ts`) and the traffic simulator (`infra/simulate/simulator.ts`) both send
 * through this one copy.
 */
import { createHmac, randomUUID } from 'node:crypto';

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
  readonly headers: Headers;
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The `connect` body of the §1.2 capture. */
export function connectBody(
  session: WcsSession,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
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
export function connectionStatusBody(
  session: WcsSession,
  status: string,
  info?: string,
): Record<string, unknown> {
  if (status === 'ESTABLISHED') return { ...connectBody(session), authToken: session.sessionId, status };
  return { ...session, status, ...(info !== undefined && { info }) };
}

/**
 * A stream object as WCS 5.2 logs it in StreamStatusEvent (§1.4), or, with `status` PENDING, as
 * publishStream/playStream carry it (§1.3).
 */
export function streamBody(
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
export function dataBody(
  session: WcsSession,
  payload: unknown,
  operationId: string = randomUUID(),
): Record<string, unknown> {
  return { ...session, operationId, payload };
}

/** The `Authorization` WCS sends for `body` when `rest_hook_send_hash` is on (§0.2). */
export function wcsAuthorization(body: string | Buffer, secret: string | undefined): string | undefined {
  return secret === undefined ? undefined : `WCS ${createHmac('md5', secret).update(body).digest('hex')}`;
}

/**
 * POSTs hook `method` to `appUrl` with `raw` as the body, with WCS's headers (signed with `secret`,
 * if any); `headers` override them (an `undefined` value removes one).
 */
export async function sendHook(
  appUrl: string,
  method: string,
  raw: string | Buffer,
  options: { secret?: string; headers?: Record<string, string | undefined> } = {},
): Promise<HookReply> {
  const authorization = wcsAuthorization(raw, options.secret);
  const merged: Record<string, string | undefined> = {
    accept: 'application/json, application/*+json',
    'content-type': 'application/json;charset=UTF-8',
    'user-agent': 'Java/1.8.0_111',
    ...(authorization && { authorization }),
    ...options.headers,
  };
  const response = await fetch(`${appUrl}/${method}`, {
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
    headers: response.headers,
  };
}
