/**
 * A real HTTP server on 127.0.0.1 that answers a scripted sequence of replies and records what it was
 * asked. It checks nothing itself: tests assert on `requests`.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON (content-type application/json unless set). */
  body?: unknown;
  /** Wait this long before answering (timeouts, pacing). */
  delayMs?: number;
  /** Destroy the connection instead of answering (ECONNRESET / socket hang up). */
  reset?: boolean;
  /** Announce the whole body's content-length, send only this many bytes, then destroy the connection. */
  cutAfterBytes?: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  receivedAt: number;
}

export interface ScriptedServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Append replies to the script. */
  push(...replies: ScriptedReply[]): void;
  /** Replies not used yet. */
  remaining(): number;
  close(): Promise<void>;
}

/** Answered once the script is used up, so a test that asks too much fails loudly. */
const EXHAUSTED: ScriptedReply = { status: 599, body: 'scripted server: no reply left', headers: { 'content-type': 'text/plain' } };

export async function startScriptedServer(script: ScriptedReply[] = []): Promise<ScriptedServer> {
  const queue = [...script];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, receivedAt: performance.now() });
    const reply = queue.shift() ?? EXHAUSTED;
    req.resume();
    const answer = (): void => answerWith(reply, res);
    // Unref'd: a reply held back longer than a test lasts must not keep the test process alive.
    if (reply.delayMs) setTimeout(answer, reply.delayMs).unref();
    else answer();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    push: (...replies) => queue.push(...replies),
    remaining: () => queue.length,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answerWith(reply: ScriptedReply, res: ServerResponse): void {
  if (res.destroyed || res.socket === null) return;
  if (reply.reset) {
    res.socket.destroy();
    return;
  }
  const isText = typeof reply.body === 'string';
  const payload = Buffer.from(reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body), 'utf8');
  const headers: Record<string, string> = {
    ...(reply.body !== undefined && !isText ? { 'content-type': 'application/json' } : {}),
    ...reply.headers,
    'content-length': String(payload.length),
  };
  res.writeHead(reply.status ?? 200, headers);
  if (reply.cutAfterBytes !== undefined) {
    const socket = res.socket;
    res.write(payload.subarray(0, reply.cutAfterBytes), () => setTimeout(() => socket.destroy(), 5));
    return;
  }
  res.end(payload);
}
