import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcr16For } from '../../contract/config-digest';
import { DevNsm, DevPki } from '../../attestation/dev';
import { SupervisorError } from '../../enclave/errors';
import { CONFIG_PCR, measureConfig } from '../../enclave/measure-config';

const digest = (text: string) => createHash('sha384').update(text).digest();

let dir: string;
let pki: DevPki;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-pcr16-'));
  pki = await DevPki.open({ dir });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('measureConfig', () => {
  it('extends PCR16 from zero with the digest and locks it', async () => {
    const nsm = new DevNsm({ pki });
    const value = await measureConfig(nsm, digest('config A'));
    expect(value.equals(pcr16For(digest('config A')))).toBe(true);
    const pcr = await nsm.describePcr(CONFIG_PCR);
    expect(pcr.locked).toBe(true);
    expect(Buffer.from(pcr.data).equals(value)).toBe(true);
    await expect(nsm.extendPcr(CONFIG_PCR, digest('config B'))).rejects.toMatchObject({ code: 'ReadOnlyIndex' });
  });

  it('accepts PCR16 already locked with the same configuration (a supervisor restarted in the same enclave)', async () => {
    const nsm = new DevNsm({ pki });
    await measureConfig(nsm, digest('config A'));
    await expect(measureConfig(nsm, digest('config A'))).resolves.toEqual(pcr16For(digest('config A')));
  });

  it('refuses to boot when PCR16 is locked with another configuration, and leaves it as it was', async () => {
    const nsm = new DevNsm({ pki });
    await measureConfig(nsm, digest('config A'));
    const error = await measureConfig(nsm, digest('config B')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupervisorError);
    expect(error).toMatchObject({ code: 'PCR16_CONFLICT', exitStatus: 1 });
    expect((error as Error).message).toContain(pcr16For(digest('config B')).toString('hex'));
    expect(Buffer.from((await nsm.describePcr(CONFIG_PCR)).data).equals(pcr16For(digest('config A')))).toBe(true);
  });

  it('refuses when PCR16 was extended with something else but not locked, without locking it', async () => {
    const nsm = new DevNsm({ pki });
    await nsm.extendPcr(CONFIG_PCR, digest('something else'));
    await expect(measureConfig(nsm, digest('config A'))).rejects.toMatchObject({ code: 'PCR16_CONFLICT' });
    expect((await nsm.describePcr(CONFIG_PCR)).locked).toBe(false);
  });
});
