import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** What the PCR measurer feeds: node's Hash, or the off-thread one below. */
export interface Sha384Sink {
  update(data: Buffer): unknown;
  digest(): Buffer;
}

/** Above this many bytes a second thread pays for itself: starting one costs milliseconds. */
const PARALLEL_FROM = 32 * 1024 * 1024;

/** A SHA-384 for `size` bytes: on another thread when that is faster. */
export function sha384For(size: number): Sha384Sink {
  return size >= PARALLEL_FROM ? new OffThreadSha384() : createHash('sha384');
}

const SLOTS = 4;
const SLOT_BYTES = 4 * 1024 * 1024;
// Control words: chunks handed over, chunks hashed, end of input, digest ready.
const HANDED = 0;
const HASHED = 1;
const ENDED = 2;
const READY = 3;

/*
 * The worker hashes slot after slot of a shared ring and writes the digest back into shared memory;
 * plain CommonJS, evaluated, so it needs no file of its own next to the compiled code.
 */
const WORKER = `
const { workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha384');
const control = new Int32Array(workerData.control);
const lengths = new Int32Array(workerData.lengths);
const ring = Buffer.from(workerData.ring);
for (let next = 0; ; next++) {
  while (Atomics.load(control, ${HANDED}) === next) {
    if (Atomics.load(control, ${ENDED}) === 1 && Atomics.load(control, ${HANDED}) === next) break;
    Atomics.wait(control, ${HANDED}, next, 50);
  }
  if (Atomics.load(control, ${HANDED}) === next) break;
  const slot = next % ${SLOTS};
  hash.update(ring.subarray(slot * ${SLOT_BYTES}, slot * ${SLOT_BYTES} + lengths[slot]));
  Atomics.add(control, ${HASHED}, 1);
  Atomics.notify(control, ${HASHED});
}
hash.digest().copy(Buffer.from(workerData.digest));
Atomics.store(control, ${READY}, 1);
Atomics.notify(control, ${READY});
`;

/**
 * SHA-384 on another thread, so that two hashes of the same bytes (PCR0 and PCR2 both cover the
 * image's ramdisk) run on two cores: `update` copies into a shared ring and returns at once
 * unless the ring is full; `digest` waits for the worker. Synchronous to its caller.
 */
export class OffThreadSha384 implements Sha384Sink {
  private readonly control = new Int32Array(new SharedArrayBuffer(16));
  private readonly lengths = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  private readonly ringMemory = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  private readonly ring = Buffer.from(this.ringMemory);
  private readonly digestMemory = new SharedArrayBuffer(48);
  private readonly worker: Worker;
  private handed = 0;
  /** How long to wait for the worker before giving up: it hashes 4 MiB in milliseconds. */
  private static readonly STALL_MS = 60_000;

  constructor() {
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { control: this.control.buffer, lengths: this.lengths.buffer, ring: this.ringMemory, digest: this.digestMemory },
    });
    this.worker.unref();
  }

  update(data: Buffer): this {
    for (let at = 0; at < data.length;) {
      const since = Date.now();
      for (let hashed = Atomics.load(this.control, HASHED); this.handed - hashed >= SLOTS; hashed = Atomics.load(this.control, HASHED)) {
        this.checkStall(since);
        Atomics.wait(this.control, HASHED, hashed, 1000);
      }
      const slot = this.handed % SLOTS;
      const n = data.copy(this.ring, slot * SLOT_BYTES, at, Math.min(data.length, at + SLOT_BYTES));
      this.lengths[slot] = n;
      at += n;
      this.handed++;
      Atomics.store(this.control, HANDED, this.handed);
      Atomics.notify(this.control, HANDED);
    }
    return this;
  }

  digest(): Buffer {
    Atomics.store(this.control, ENDED, 1);
    Atomics.notify(this.control, HANDED);
    const since = Date.now();
    while (Atomics.load(this.control, READY) !== 1) {
      this.checkStall(since);
      Atomics.wait(this.control, READY, 0, 1000);
    }
    void this.worker.terminate();
    return Buffer.from(this.digestMemory).subarray(0, 48);
  }

  private checkStall(since: number): void {
    if (Date.now() - since < OffThreadSha384.STALL_MS) return;
    void this.worker.terminate();
    throw new Error('the SHA-384 worker thread stopped answering');
  }
}
