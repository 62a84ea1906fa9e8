import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputTooLargeError, readBounded, readChunks, sizeText } from '../../contract/read-bounded';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'cloister-read-bounded-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readBounded', () => {
  it('reads a file of at most its limit whole, and refuses one byte more', () => {
    const file = join(dir, 'ten');
    writeFileSync(file, '0123456789');
    expect(readBounded(file, 10).toString()).toBe('0123456789');
    expect(() => readBounded(file, 9)).toThrow(InputTooLargeError);
    expect(() => readBounded(file, 9)).toThrow('it is larger than 9 bytes');
  });

  it('stops an input that never ends one byte past its limit', () => {
    let read = 0;
    const error = (() => {
      try {
        readChunks('/dev/zero', 3 << 20, (chunk) => (read += chunk.length));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputTooLargeError);
    expect(error).toMatchObject({ code: 'INPUT_TOO_LARGE', limit: 3 << 20, message: 'it is larger than 3 MiB' });
    expect(read).toBe(3 << 20);
  });

  it('lets the errors of the file system through as they are', () => {
    expect(() => readBounded(join(dir, 'absent'), 10)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => readBounded(dir, 10)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});

describe('sizeText', () => {
  it('says a size as people do', () => {
    expect([1 << 30, 16 << 20, 64 << 10, 16777218, 0].map(sizeText)).toEqual(['1 GiB', '16 MiB', '64 KiB', '16777218 bytes', '0 bytes']);
  });
});
