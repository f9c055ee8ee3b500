/**
 * A STOMP 1.2 client written from the OAM document alone (seeds: "Interaction with backend server"):
 * frames typed out by hand, as the document shows them, over a plain WebSocket (`ws`). Independent
 * of `@stomp/stompjs`, whose parser the server uses: a frame both got wrong the same way would pass
 * a stompjs-only test.
 */
import WebSocket from 'ws';

export interface RawFrame {
  readonly command: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Parses the frames in `data` (NUL-terminated; heart-beat newlines between them ignored). */
function parseFrames(data: string): RawFrame[] {
  return data
    .split('\0')
    .map((chunk) => chunk.replace(/^[\r\n]+/, ''))
    .filter((chunk) => chunk.length > 0)
    .map((chunk) => {
      const end = chunk.indexOf('\n\n');
      const head = end === -1 ? chunk : chunk.slice(0, end);
      const [command = '', ...lines] = head.split('\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0 && !(line.slice(0, colon) in headers))
          headers[line.slice(0, colon)] = line.slice(colon + 1);
      }
      return { command, headers, body: end === -1 ? '' : chunk.slice(end + 2) };
    });
}

export class RawStompClient {
  readonly frames: RawFrame[] = [];
  closed = false;
  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => this.frames.push(...parseFrames(data.toString())));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /** Opens the WebSocket (not yet STOMP-connected). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<RawStompClient> {
    const socket = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`upgrade refused: ${response.statusCode}`)),
      );
    });
    return new RawStompClient(socket);
  }

  /** Sends one frame, typed out as the document shows it. */
  send(command: string, headers: Record<string, string>, body = ''): void {
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}:${v}`)
      .join('\n');
    this.socket.send(`${command}\n${head}\n\n${body}\0`);
  }

  /** The first frame (from `from` on) that `match` accepts, waiting for it. */
  async next(match: (frame: RawFrame) => boolean, timeoutMs = 20_000, from = 0): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching frame in time; got ${this.frames.map((f) => f.command).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** CONNECT as step 2 of the document, and the CONNECTED frame. */
  async connect(host = 'localhost'): Promise<RawFrame> {
    this.send('CONNECT', { 'accept-version': '1.2', host });
    return this.next((f) => f.command === 'CONNECTED' || f.command === 'ERROR');
  }

  /** A request as the document sends it; its reply on `/user/service` (subscribe to it first). */
  async request(realm: string, payload: unknown): Promise<Record<string, unknown>> {
    const requestId = crypto.randomUUID();
    const body = JSON.stringify({ requestId, realm, payload });
    this.send(
      'SEND',
      { destination: `/app${realm}`, 'content-length': String(Buffer.byteLength(body)) },
      body,
    );
    const reply = await this.next(
      (f) =>
        f.command === 'MESSAGE' && f.headers.destination === '/user/service' && f.body.includes(requestId),
    );
    return JSON.parse(reply.body) as Record<string, unknown>;
  }

  close(): void {
    this.socket.terminate();
  }
}
