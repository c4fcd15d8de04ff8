// The frame codec (shared/protocol.ts): messages round-trip; a message with a large Float32Array
// (weights, gradient blocks) travels as an envelope whose payloads are the arrays' raw bytes —
// laid out as the comment in protocol.ts says, read back bit for bit as views of the frame —
// and every malformed envelope is refused as a bad frame naming what is wrong.
import { describe, expect, it } from 'vitest';
import {
  concatParts,
  FrameError,
  decodeToCoordinator,
  decodeToWorker,
  encode as encodeFrame,
  encodeParts,
  type ToCoordinator,
  type ToWorker,
} from '../../shared/protocol.js';

/** the frame as a Buffer (encode gives a plain Uint8Array, as the browser's worker needs) */
const encode = (m: ToWorker | ToCoordinator): Buffer => Buffer.from(encodeFrame(m));

const bytesOf = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** floats with every kind of bit pattern a gradient can hold */
function awkward(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 43758.5453 * 10 ** ((i % 9) - 4);
  a.set([-0, 1e-45, -3.4e38, Infinity, NaN], 0);
  return a;
}

const step = (params?: Float32Array): ToWorker => ({
  type: 'step',
  jobId: 'run-1',
  step: 7,
  attempt: 2,
  firstMicrobatch: 4,
  microbatch: 16,
  samples: Int32Array.from({ length: 64 }, (_, i) => 1000 - i),
  ...(params ? { params } : {}),
});

const grads = (sizes: number[]): ToCoordinator => ({
  type: 'grads',
  jobId: 'run-1',
  step: 3,
  attempt: 1,
  computeMs: 12.5,
  blocks: sizes.map((n, i) => ({
    start: 4 * i,
    size: 4,
    grads: awkward(n),
    lossSum: i === 1 ? NaN : 2.5 * i,
    correct: i,
  })),
});

/** the envelope's header length (bytes 4–7) and where its payload section starts */
function layout(frame: Buffer): { h: number; base: number } {
  const h = frame.readUInt32LE(4);
  return { h, base: (8 + h + 7) & ~7 };
}

describe('envelope frames', () => {
  it('weights of 1,000 floats: an envelope (0xC1, zero padding) whose payload section is the raw float32 bytes', () => {
    const w = awkward(1000);
    const frame = encode(step(w));
    expect(frame[0]).toBe(0xc1);
    expect([...frame.subarray(1, 4)]).toEqual([0, 0, 0]);
    const { h, base } = layout(frame);
    expect(base % 8).toBe(0);
    expect(frame.subarray(8 + h, base).every((b) => b === 0)).toBe(true);
    expect(frame.byteLength).toBe(base + 4000);
    expect(frame.subarray(base).equals(bytesOf(w))).toBe(true);
    const back = decodeToWorker(frame) as Extract<ToWorker, { type: 'step' }>;
    expect(bytesOf(back.params!).equals(bytesOf(w))).toBe(true);
    expect(back.params!.buffer).toBe(frame.buffer); // a view of the frame, not a copy
    expect([...back.samples]).toEqual([...(step() as Extract<ToWorker, { type: 'step' }>).samples]);
    expect(back).toMatchObject({
      type: 'step',
      jobId: 'run-1',
      step: 7,
      attempt: 2,
      firstMicrobatch: 4,
      microbatch: 16,
    });
  });

  it('several gradient blocks, of lengths that need padding, come back bit for bit in order, NaN loss included', () => {
    const msg = grads([257, 1024, 300]) as Extract<ToCoordinator, { type: 'grads' }>;
    const frame = encode(msg);
    const { base } = layout(frame);
    // 257 floats = 1028 bytes → the next payload starts 4 bytes of padding later, at 1032
    expect(frame.byteLength).toBe(base + 1032 + 4096 + 1200);
    const back = decodeToCoordinator(frame) as Extract<ToCoordinator, { type: 'grads' }>;
    expect(back.blocks.map((b) => b.grads.length)).toEqual([257, 1024, 300]);
    back.blocks.forEach((b, i) => {
      expect(bytesOf(b.grads).equals(bytesOf(msg.blocks[i]!.grads))).toBe(true);
      expect(b).toMatchObject({ start: 4 * i, size: 4, correct: i });
    });
    expect(back.blocks[1]!.lossSum).toBeNaN();
  });

  it('small arrays stay in plain msgpack, so a hello or a small model is unchanged on the wire', () => {
    expect(encode(step(awkward(255)))[0]).not.toBe(0xc1);
    const back = decodeToWorker(encode(step(awkward(255)))) as Extract<ToWorker, { type: 'step' }>;
    expect(bytesOf(back.params!).equals(bytesOf(awkward(255)))).toBe(true);
  });

  it("encodeParts: the header, then views of the message's own arrays (no copy); concatenated, the frame", () => {
    const w = awkward(600); // 2400 bytes: a multiple of 8, no padding part
    const parts = encodeParts(step(w));
    expect(parts).toHaveLength(2);
    expect(parts[1]!.buffer).toBe(w.buffer);
    expect(Buffer.concat(parts).equals(encode(step(w)))).toBe(true);
    expect(encodeParts(step(awkward(601)))).toHaveLength(3); // 2404 bytes + 4 of padding
  });

  it('concatParts into a kept buffer (the page joins every frame in one): a view of it when it is large enough, else a new array', () => {
    const kept = new Uint8Array(4096).fill(0xee);
    const parts = encodeParts(step(awkward(600)));
    const joined = concatParts(parts, kept);
    expect(joined.buffer).toBe(kept.buffer);
    expect(joined.byteLength).toBe(Buffer.concat(parts).byteLength);
    expect(Buffer.from(joined).equals(Buffer.concat(parts))).toBe(true);
    expect(kept[joined.byteLength]).toBe(0xee); // nothing written past the frame
    const big = concatParts(encodeParts(step(awkward(2000))), kept);
    expect(big.buffer).not.toBe(kept.buffer);
    expect(Buffer.from(big).equals(encode(step(awkward(2000))))).toBe(true);
  });

  it('a frame at an odd offset in its buffer (the payload cannot be a view) decodes to a copy', () => {
    const w = awkward(512);
    const frame = encode(step(w));
    const shifted = Buffer.alloc(frame.byteLength + 1);
    frame.copy(shifted, 1);
    const back = decodeToWorker(shifted.subarray(1)) as Extract<ToWorker, { type: 'step' }>;
    expect(bytesOf(back.params!).equals(bytesOf(w))).toBe(true);
  });
});

describe('malformed envelopes: a bad frame naming the problem', () => {
  const good = encode(step(awkward(512)));
  const { base } = layout(good);
  const refuse = (frame: Uint8Array, why: RegExp): void => {
    let err: unknown;
    try {
      decodeToWorker(frame);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe('E_BAD_FRAME');
    expect((err as FrameError).message).toMatch(why);
  };

  it('shorter than its prefix', () => refuse(Buffer.from([0xc1, 0, 0]), /shorter than its 8-byte prefix/));

  it('a header length beyond the frame', () => {
    const f = Buffer.from(good);
    f.writeUInt32LE(good.byteLength, 4);
    refuse(f, new RegExp(`header of ${good.byteLength} bytes overruns the frame of ${good.byteLength}`));
  });

  it('a payload cut short', () =>
    refuse(good.subarray(0, base + 2044), /payload \[0, 512 floats\] outside the payload section of 2044 bytes/));

  it('a payload reference that is not [offset, length], or not 8-aligned', () => {
    const withRef = (ref: unknown): Buffer => {
      // rebuild the header with a forged reference in place of the weights
      const parts = encodeParts(step(awkward(512)));
      const first = Buffer.from(parts[0]!);
      const header = first.subarray(8, 8 + first.readUInt32LE(4));
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matches msgpack bytes (fixarray, 0, uint16 header)
      const forged = Buffer.from(header.toString('latin1').replace(/\x92\x00\xcd\x02\x00/, ref as string), 'latin1');
      const head = Buffer.alloc((8 + forged.byteLength + 7) & ~7);
      head[0] = 0xc1;
      head.writeUInt32LE(forged.byteLength, 4);
      forged.copy(head, 8);
      return Buffer.concat([head, parts[1]!]);
    };
    // msgpack [4, 512]: 4 is not a multiple of 8
    refuse(withRef('\x92\x04\xcd\x02\x00'), /payload \[4, 512 floats\] outside the payload section/);
    // msgpack [-1, 512]
    refuse(withRef('\x92\xff\xcd\x02\x00'), /malformed payload reference/);
  });

  it('a message whose payload sits where the schema wants something else', () => {
    const msg = { ...(step() as object), samples: awkward(300) } as unknown as ToWorker;
    refuse(encode(msg), /invalid "step" message: samples: expected an Int32Array/);
  });
});
