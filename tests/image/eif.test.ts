import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { encode } from 'cbor-x';
import fc from 'fast-check';
import { readBlobs } from '../../image/blobs';
import { bootstrapRamdisk } from '../../image/bootstrap-ramdisk';
import { CpioArchive } from '../../image/cpio';
import { EIF_HEADER_SIZE } from '../../image/eif-format';
import { ImageError } from '../../image/errors';
import { OffThreadSha384 } from '../../image/off-thread-sha384';
import { readEif } from '../../image/read-eif';
import { writeEif } from '../../image/write-eif';
import { BLOBS, archiveBytes, pcr } from './eif-support';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'cloister-eif-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An EIF of known bytes: a random kernel, AWS's cmdline and bootstrap, and a small image ramdisk. */
function knownEif(name: string, kernelBytes = randomBytes(50_000)) {
  const kernel = join(dir, `${name}.bzImage`);
  writeFileSync(kernel, kernelBytes);
  const blobs = readBlobs(BLOBS, kernel);
  const image = new CpioArchive();
  image.add({ name: 'rootfs', type: 'dir', mode: 0o755, mtime: 1 });
  image.add({ name: 'rootfs/hello', type: 'file', mode: 0o755, mtime: 1, data: Buffer.from('#!/bin/sh\necho hi\n') });
  image.add({ name: 'cmd', type: 'file', mode: 0o644, mtime: 1, data: Buffer.from('/hello\n') });
  const ramdisks = [bootstrapRamdisk(blobs), image.finish()];
  const path = join(dir, `${name}.eif`);
  const pcrs = writeEif(path, { kernel, cmdline: blobs.cmdline, metadata: Buffer.from('{"ImageName":"t"}'), ramdisks });
  return { path, pcrs, kernelBytes, cmdline: blobs.cmdline, rd0: archiveBytes(ramdisks[0]!.records), rd1: archiveBytes(ramdisks[1]!.records) };
}

describe('EIF writer and reader', () => {
  it('computes the PCRs of eif-format.md over the payloads, and reads back what it wrote', () => {
    const eif = knownEif('known');
    expect(eif.cmdline.toString()).toBe(readFileSync(join(BLOBS, 'cmdline'), 'utf8').trim());
    expect(eif.cmdline.length).toBe(119);
    const expected = {
      PCR0: pcr(eif.kernelBytes, eif.cmdline, eif.rd0, eif.rd1),
      PCR1: pcr(eif.kernelBytes, eif.cmdline, eif.rd0),
      PCR2: pcr(eif.rd1),
    };
    expect(eif.pcrs).toEqual(expected);
    const report = readEif(eif.path);
    expect(report.pcrs).toEqual(expected);
    expect(report.version).toBe(4);
    expect(report.arch).toBe('x86_64');
    expect(report.memoryBytes).toBe(1024n ** 3n);
    expect(report.cpus).toBe(2n);
    expect(report.sections.map((s) => s.type)).toEqual([1, 2, 5, 3, 3]);
    expect(report.metadata).toEqual({ ImageName: 't' });
  });

  it('lays the file out as nitro-cli does: header, then each section header and payload, CRC over all but itself', () => {
    const eif = knownEif('layout');
    const bytes = readFileSync(eif.path);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('.eif');
    const count = bytes.readUInt16BE(26);
    expect(count).toBe(5);
    let at = EIF_HEADER_SIZE;
    const payloads = [eif.kernelBytes, eif.cmdline, Buffer.from('{"ImageName":"t"}'), eif.rd0, eif.rd1];
    for (let i = 0; i < count; i++) {
      expect(Number(bytes.readBigUInt64BE(28 + 8 * i))).toBe(at);
      expect(Number(bytes.readBigUInt64BE(28 + 256 + 8 * i))).toBe(payloads[i]!.length);
      expect(bytes.readUInt16BE(at)).toBe([1, 2, 5, 3, 3][i]);
      expect(bytes.subarray(at + 12, at + 12 + payloads[i]!.length).equals(payloads[i]!)).toBe(true);
      at += 12 + payloads[i]!.length;
    }
    expect(at).toBe(bytes.length);
    const crc = crc32(bytes.subarray(EIF_HEADER_SIZE), crc32(bytes.subarray(0, 544)));
    expect(bytes.readUInt32BE(544)).toBe(crc);
  });

  it('gives every enclave built from the same blobs the same PCR1, whatever the image', () => {
    const kernel = randomBytes(1000);
    const a = knownEif('same-a', kernel);
    const b = knownEif('same-b', kernel);
    expect(a.pcrs.PCR1).toBe(b.pcrs.PCR1);
  });

  it('leaves no file behind when writing fails', () => {
    const blobs = readBlobs(BLOBS, join(dir, 'known.bzImage'));
    const path = join(dir, 'failed.eif');
    const bad = new CpioArchive();
    bad.add({ name: 'x', type: 'file', mode: 0o644, mtime: 0, data: { fd: 987654, offset: 0, length: 10 } });
    expect(() =>
      writeEif(path, { kernel: blobs.kernel, cmdline: blobs.cmdline, metadata: Buffer.from('{}'), ramdisks: [bootstrapRamdisk(blobs), bad.finish()] }),
    ).toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith('failed'))).toEqual([]);
  });

  it('reads PCR8 from a signed EIF: the signing certificate of the signature section', () => {
    const eif = knownEif('signed');
    const bytes = readFileSync(eif.path);
    const pem = readFileSync(join(__dirname, '..', 'fixtures', 'nitro', 'aws-nitro-root-g1.pem'));
    const certificate = new X509Certificate(pem);
    const signature = encode([{ signing_certificate: pem, signature: Buffer.from([1, 2, 3]) }]);
    const signed = appendSection(bytes, 4, signature);
    writeFileSync(join(dir, 'signed2.eif'), signed);
    const report = readEif(join(dir, 'signed2.eif'));
    expect(report.pcrs.PCR0).toBe(eif.pcrs.PCR0);
    expect(report.pcrs.PCR8).toBe(pcr(certificate.raw));
  });
});

/** Appends a section and fixes the header's table and CRC, as a signer does. */
function appendSection(eif: Buffer, type: number, payload: Buffer): Buffer {
  const out = Buffer.concat([eif, Buffer.alloc(12), payload]);
  const count = out.readUInt16BE(26);
  out.writeUInt16BE(count + 1, 26);
  out.writeBigUInt64BE(BigInt(eif.length), 28 + 8 * count);
  out.writeBigUInt64BE(BigInt(payload.length), 28 + 256 + 8 * count);
  out.writeUInt16BE(type, eif.length);
  out.writeBigUInt64BE(BigInt(payload.length), eif.length + 4);
  return fixCrc(out);
}

function fixCrc(eif: Buffer): Buffer {
  eif.writeUInt32BE(crc32(eif.subarray(EIF_HEADER_SIZE), crc32(eif.subarray(0, 544))), 544);
  return eif;
}

describe('malformed EIFs are refused with a code and a sentence, never a crash', () => {
  let good: Buffer;
  beforeAll(() => (good = readFileSync(knownEif('base').path)));

  function refusal(bytes: Buffer): ImageError {
    const path = join(dir, `bad-${Math.random().toString(16).slice(2)}.eif`);
    writeFileSync(path, bytes);
    try {
      readEif(path);
    } catch (e) {
      expect(e).toBeInstanceOf(ImageError);
      expect((e as ImageError).message.length).toBeGreaterThan(30);
      return e as ImageError;
    } finally {
      rmSync(path);
    }
    throw new Error('accepted');
  }
  const edit = (change: (b: Buffer) => void, crc = true) => {
    const copy = Buffer.from(good);
    change(copy);
    return crc ? fixCrc(copy) : copy;
  };

  it('truncated: in the header, or inside a section', () => {
    expect(refusal(good.subarray(0, 100)).code).toBe('EIF_TRUNCATED');
    expect(refusal(good.subarray(0, good.length - 1)).code).toBe('EIF_TRUNCATED');
    expect(refusal(good.subarray(0, EIF_HEADER_SIZE + 5)).code).toBe('EIF_TRUNCATED');
  });

  it('a wrong magic or version', () => {
    expect(refusal(edit((b) => b.write('.elf', 0, 'latin1'))).code).toBe('EIF_BAD_MAGIC');
    expect(refusal(edit((b) => b.writeUInt16BE(3, 4))).code).toBe('EIF_BAD_VERSION');
    expect(refusal(edit((b) => b.writeUInt16BE(5, 4))).code).toBe('EIF_BAD_VERSION');
  });

  it('a section table that overlaps, leaves a gap, points past the end, or has stray entries', () => {
    expect(refusal(edit((b) => b.writeBigUInt64BE(b.readBigUInt64BE(28 + 8) - 1n, 28 + 8))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(edit((b) => b.writeBigUInt64BE(b.readBigUInt64BE(28 + 8) + 4n, 28 + 8))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(edit((b) => b.writeBigUInt64BE(b.readBigUInt64BE(28 + 256 + 8 * 4) + 1000n, 28 + 256 + 8 * 4))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(edit((b) => b.writeBigUInt64BE(2n ** 63n, 28 + 8 * 4))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(edit((b) => b.writeBigUInt64BE(1n, 28 + 8 * 20))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(edit((b) => b.writeUInt16BE(0, 26))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(edit((b) => b.writeUInt16BE(33, 26))).code).toBe('EIF_BAD_SECTIONS');
    expect(refusal(fixCrc(Buffer.concat([good, Buffer.from('trailing')]))).code).toBe('EIF_BAD_SECTIONS');
  });

  it('a section header that disagrees with the table, or sections out of order', () => {
    const second = Number(good.readBigUInt64BE(28 + 8));
    expect(refusal(edit((b) => b.writeUInt16BE(9, second))).code).toBe('EIF_BAD_SECTION_HEADER');
    expect(refusal(edit((b) => b.writeUInt16BE(1, second + 2))).code).toBe('EIF_BAD_SECTION_HEADER');
    expect(refusal(edit((b) => b.writeBigUInt64BE(b.readBigUInt64BE(second + 4) + 1n, second + 4))).code).toBe('EIF_BAD_SECTION_HEADER');
    expect(refusal(edit((b) => b.writeUInt16BE(3, second))).code).toBe('EIF_BAD_SECTIONS');
  });

  it('a bad CRC: one byte of a payload changed, or of the header', () => {
    expect(refusal(edit((b) => (b[b.length - 600]! ^= 1), false)).code).toBe('EIF_BAD_CRC');
    expect(refusal(edit((b) => (b[10]! ^= 1), false)).code).toBe('EIF_BAD_CRC');
    expect(refusal(edit((b) => (b[545]! ^= 1), false)).code).toBe('EIF_BAD_CRC');
  });

  it('a signature section that is not CBOR or names no certificate', () => {
    expect(refusal(appendSection(Buffer.from(good), 4, Buffer.from([0xff, 0x00]))).code).toBe('EIF_BAD_SIGNATURE');
    expect(refusal(appendSection(Buffer.from(good), 4, encode([{ signature: Buffer.alloc(3) }]))).code).toBe('EIF_BAD_SIGNATURE');
  });

  it('any change of any header byte, or a truncation anywhere, is refused or leaves the PCRs as they were (property)', () => {
    const pcrs = readEif(join(dir, 'base.eif')).pcrs;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: EIF_HEADER_SIZE + 11 }),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        fc.integer({ min: 0, max: good.length - 1 }),
        (at, xor, fix, cut) => {
          const mutated = edit((b) => (b[at]! ^= xor), fix);
          for (const candidate of [mutated, good.subarray(0, cut)]) {
            const path = join(dir, 'prop.eif');
            writeFileSync(path, candidate);
            try {
              expect(readEif(path).pcrs).toEqual(pcrs);
            } catch (e) {
              if (!(e instanceof ImageError)) throw e;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a missing blob or kernel is BLOB_MISSING, naming the file and the flag', () => {
    expect(() => readBlobs(join(dir, 'no-blobs'), join(dir, 'known.bzImage'))).toThrow(
      expect.objectContaining({ code: 'BLOB_MISSING', message: expect.stringMatching(/--blobs DIR/) }),
    );
    expect(() => readBlobs(BLOBS)).toThrow(expect.objectContaining({ code: 'BLOB_MISSING', message: expect.stringMatching(/bzImage.*--kernel FILE/) }));
    expect(existsSync(join(dir, 'no-blobs'))).toBe(false);
  });
});

describe('SHA-384 on a second thread', () => {
  it('gives the digest of node:crypto whatever the sizes of the pieces, ring wrap-arounds included', () => {
    const data = randomBytes(37 * 1024 * 1024 + 13);
    const cuts = [0, 1, 100, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 20 * 1024 * 1024, data.length];
    const hash = new OffThreadSha384();
    for (let i = 1; i < cuts.length; i++) hash.update(data.subarray(cuts[i - 1], cuts[i]));
    expect(hash.digest().toString('hex')).toBe(createHash('sha384').update(data).digest('hex'));
    expect(new OffThreadSha384().digest().toString('hex')).toBe(createHash('sha384').digest('hex'));
  });

  it('measures a large EIF (where PCR0 hashes on the second thread) exactly as the formula says', () => {
    const eif = knownEif('large', randomBytes(40 * 1024 * 1024));
    expect(readEif(eif.path).pcrs).toEqual({
      PCR0: pcr(eif.kernelBytes, eif.cmdline, eif.rd0, eif.rd1),
      PCR1: pcr(eif.kernelBytes, eif.cmdline, eif.rd0),
      PCR2: pcr(eif.rd1),
    });
    expect(eif.pcrs).toEqual(readEif(eif.path).pcrs);
  });
});
