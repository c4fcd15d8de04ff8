// A rogue client for the security tests: it speaks the wire protocol by hand (ws + the shared
// codec) so that it can say the wrong things — garbage bytes, text frames, broken WebSocket
// frames, frames over the size limit, the wrong protocol version, a wrong HMAC, messages out
// of turn, and bad gradients from a worker that joined properly. It records every frame it
// sends and receives. Also: a TCP tap that sits between a client and the coordinator and
// records every byte on the wire (loopback only).
import { createHmac } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import { kernelFacts } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { alignedBlocks } from '../../shared/engine/reduce.js';
import {
  PROTOCOL_VERSION,
  decodeToWorker,
  encode,
  type MessageOf,
  type RuntimeInfo,
  type ToCoordinator,
  type ToWorker,
} from '../../shared/protocol.js';

export type Step = MessageOf<ToWorker, 'step'>;
export type Challenge = MessageOf<ToWorker, 'challenge'>;
export type Job = MessageOf<ToWorker, 'job'>;

/** HMAC-SHA256(token, nonce): what a worker sends in `hello.auth`. */
export function hmac(token: string, nonce: Uint8Array): Buffer {
  return createHmac('sha256', token).update(nonce).digest();
}

/** This process's runtime as a worker reports it; `o` replaces fields (a worker on another
 *  Node.js, with another kernel build, ...). */
export function runtime(o: Partial<RuntimeInfo> = {}): RuntimeInfo {
  return { node: process.versions.node, v8: process.versions.v8, ...kernelFacts(), ...o };
}

export interface Closed {
  code: number;
  reason: string;
}

export class Rogue {
  /** every frame payload sent and received, in order */
  readonly sent: Buffer[] = [];
  readonly received: Buffer[] = [];
  /** decoded messages from the coordinator; `next` consumes them */
  readonly inbox: ToWorker[] = [];
  readonly all: ToWorker[] = [];
  readonly closed: Promise<Closed>;
  closeInfo: Closed | null = null;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly name: string,
  ) {
    ws.on('message', (data: Buffer) => {
      this.received.push(Buffer.from(data));
      try {
        const msg = decodeToWorker(data);
        this.inbox.push(msg);
        this.all.push(msg);
      } catch {
        /* the coordinator never sends bad frames; recorded in `received` anyway */
      }
      this.wake();
    });
    ws.on('error', () => {
      /* surfaces as close */
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      }),
    );
  }

  /** Connect (ws:// or wss://; `ca` to trust a self-signed certificate). */
  static connect(url: string, o: { name?: string; ca?: Buffer } = {}): Promise<Rogue> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(o.ca ? { ca: o.ca } : {}) });
    const r = new Rogue(ws, o.name ?? 'rogue');
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(r));
      ws.once('error', reject);
    });
  }

  /** the local TCP port: the coordinator logs the connection's address as 127.0.0.1:<port> */
  get localPort(): number {
    return (this.ws as unknown as { _socket: Socket })._socket.localPort!;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(msg: ToCoordinator): void {
    this.sendRaw(encode(msg));
  }

  sendRaw(data: Uint8Array | string, binary = typeof data !== 'string'): void {
    this.sent.push(Buffer.from(data));
    this.ws.send(data, { binary });
  }

  /** Write bytes straight onto the TCP socket, below the WebSocket framing. */
  writeSocket(bytes: Buffer): void {
    this.sent.push(bytes);
    (this.ws as unknown as { _socket: Socket })._socket.write(bytes);
  }

  /** The next (unconsumed) message of this type from the coordinator. */
  next<T extends ToWorker['type']>(type: T, timeoutMs = 15_000): Promise<MessageOf<ToWorker, T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name}: no "${type}" message within ${timeoutMs} ms (got ${this.all.map((m) => m.type).join(', ')})`,
            ),
          ),
        timeoutMs,
      );
      const check = (): void => {
        const i = this.inbox.findIndex((m) => m.type === type);
        if (i >= 0) {
          clearTimeout(timer);
          resolve(this.inbox.splice(i, 1)[0] as MessageOf<ToWorker, T>);
        } else if (this.closeInfo) {
          clearTimeout(timer);
          reject(
            new Error(
              `${this.name}: closed (${this.closeInfo.code} ${this.closeInfo.reason}) before a "${type}" message`,
            ),
          );
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** Answer the challenge with a hello: the right HMAC for `token`, or whatever `auth` says. */
  async hello(
    o: { token?: string | null; protocol?: number; auth?: Uint8Array; runtime?: RuntimeInfo } = {},
  ): Promise<Challenge> {
    const challenge = await this.next('challenge');
    const auth = o.auth ?? (o.token ? new Uint8Array(hmac(o.token, challenge.nonce)) : undefined);
    this.send({
      type: 'hello',
      protocol: o.protocol ?? PROTOCOL_VERSION,
      name: this.name,
      runtime: o.runtime ?? runtime(),
      ...(auth ? { auth } : {}),
    });
    return challenge;
  }

  /** Join the pool like a worker: hello, welcome, job, and (unless told not to) `ready` — without
   *  loading the dataset. */
  async join(o: { token?: string | null; ready?: boolean; runtime?: RuntimeInfo } = {}): Promise<Job> {
    await this.hello(o);
    await this.next('welcome');
    const job = await this.next('job');
    if (o.ready !== false) this.send({ type: 'ready', jobId: job.jobId });
    return job;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000, 'rogue leaving');
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** microbatches in a step's run */
export function stepCount(step: Step): number {
  return Math.ceil(step.samples.length / step.microbatch);
}

/** A `grads` answer to `step` with the right block layout whose values are wrong: `length`
 *  gradients one entry too long, `nan` a NaN among zeros, `blocks` the layout of one microbatch
 *  more than the assignment. `params` is the length of the weights the step (or the first step) carried. */
export function badGrads(
  step: Step,
  params: number,
  kind: 'length' | 'nan' | 'blocks',
): MessageOf<ToCoordinator, 'grads'> {
  const first = step.firstMicrobatch;
  // `blocks`: the layout of one microbatch more than assigned
  const layout = alignedBlocks(first, first + stepCount(step) + (kind === 'blocks' ? 1 : 0));
  return {
    type: 'grads',
    jobId: step.jobId,
    step: step.step,
    attempt: step.attempt,
    computeMs: 1,
    blocks: layout.map(({ start, size }) => {
      const grads = new Float32Array(kind === 'length' ? params + 1 : params);
      if (kind === 'nan') grads[Math.floor(params / 2)] = NaN;
      return { start, size, grads, lossSum: 1, correct: 0 };
    }),
  };
}

/** A well-formed gradient for a step: zeros in the assigned layout. */
export function zeroGrads(step: Step, params: number): MessageOf<ToCoordinator, 'grads'> {
  const layout = alignedBlocks(step.firstMicrobatch, step.firstMicrobatch + stepCount(step));
  return {
    type: 'grads',
    jobId: step.jobId,
    step: step.step,
    attempt: step.attempt,
    computeMs: 1,
    blocks: layout.map(({ start, size }) => ({
      start,
      size,
      grads: new Float32Array(params),
      lossSum: 1,
      correct: 0,
    })),
  };
}

/** A BatchNorm sync round whose partial values are NaN. */
export function nanSync(step: Step, width = 3): MessageOf<ToCoordinator, 'sync'> {
  return {
    type: 'sync',
    jobId: step.jobId,
    step: step.step,
    attempt: step.attempt,
    round: 0,
    kind: 'bn-forward',
    layer: 1,
    partials: Array.from({ length: stepCount(step) }, () => new Float64Array(width).fill(NaN)),
  };
}

/** A TCP relay on 127.0.0.1 in front of the coordinator that records every byte both ways. */
export class Tap {
  readonly up: Buffer[] = [];
  readonly down: Buffer[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<Tap> {
    let tap: Tap | null = null;
    const server = createServer((client) => {
      const t = tap!;
      const upstream = connect(targetPort, '127.0.0.1');
      t.sockets.add(client).add(upstream);
      client.on('data', (b: Buffer) => {
        t.up.push(Buffer.from(b));
        upstream.write(b);
      });
      upstream.on('data', (b: Buffer) => {
        t.down.push(Buffer.from(b));
        client.write(b);
      });
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    tap = new Tap(server, port);
    return tap;
  }

  /** everything that crossed the wire, both directions */
  bytes(): Buffer {
    return Buffer.concat([...this.up, ...this.down]);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
