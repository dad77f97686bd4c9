/**
 * Probes of what every HTTP server bounds (docs/spec.md section 11): a sender that trickles its
 * request, plain connections held open, and the route labels of its metrics.
 */
import net from 'node:net';

export interface SlowSendOutcome {
  /** The server closed the connection while the sender still had bytes to send. */
  closedByServer: boolean;
  /** What the server wrote before closing ('' when it wrote nothing). */
  received: string;
  /** Bytes the sender had trickled when it was cut off (or gave up). */
  trickled: number;
}

/**
 * Sends `head` at once, then one byte of `trickle` every `everyMs` until the server closes the
 * connection or the whole `trickle` is out (then it stops and reports `closedByServer: false`). The
 * length of `trickle`, not a clock, bounds the wait: make it far longer than the bound under test.
 */
export function slowSend(port: number, head: string, trickle: string, everyMs = 100, host = '127.0.0.1'): Promise<SlowSendOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let received = '';
    let trickled = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      socket.destroy();
      resolve({ closedByServer, received, trickled });
    };
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => finish(true));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (trickled >= trickle.length) return finish(false);
        socket.write(trickle[trickled]!);
        trickled += 1;
      }, everyMs);
    });
  });
}

/** A request line and headers sent at once, whose last header never ends: only a trickle of its value follows. */
export const slowHeaders = (path = '/health/live') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `;

/** A complete head announcing a 1 MiB body, of which only a trickle follows. */
export const slowBody = (path: string, headers: Record<string, string> = {}) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n` +
  Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('') +
  '\r\n';

/** A connection kept open: `request` sends one keep-alive GET and resolves to the status the server answers (0 if it closed). */
export interface HeldConnection {
  request: (path: string) => Promise<number>;
  /** Resolves when the server (or anything) closes the connection; `received` is what it wrote first. */
  closed: Promise<{ received: string }>;
  destroy: () => void;
}

export function holdConnection(port: number, host = '127.0.0.1'): Promise<HeldConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    let buffer = '';
    let waiting: ((status: number) => void) | undefined;
    let everReceived = '';
    const closed = new Promise<{ received: string }>((done) => socket.once('close', () => done({ received: everReceived })));
    void closed.then(() => waiting?.(0));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      everReceived += text;
      buffer += text;
      // Small answers (health, 404s) arrive whole; the status line is all a test reads.
      const match = /^HTTP\/1\.1 (\d{3})[\s\S]*?\r\n\r\n/.exec(buffer);
      if (match && waiting) {
        const length = Number(/content-length: *(\d+)/i.exec(match[0])?.[1] ?? 0);
        if (buffer.length >= match[0].length + length) {
          buffer = buffer.slice(match[0].length + length);
          const w = waiting;
          waiting = undefined;
          w(Number(match[1]));
        }
      }
    });
    socket.once('connect', () =>
      resolve({
        request: (path) =>
          new Promise<number>((answer) => {
            if (socket.destroyed) return answer(0);
            waiting = answer;
            socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
          }),
        closed,
        destroy: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}

/** The distinct `route` labels of http_request_duration_seconds in a /metrics text, sorted. */
export function routeLabels(metrics: string): string[] {
  const labels = [...metrics.matchAll(/^http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]!);
  return [...new Set(labels)].sort();
}
