import { appContextOf } from '../../contract/app-context';
import { parseConfig } from '../../contract/config';
import type { LogLevel } from '../../contract/log';
import { testResultSigner } from '../../express/testing';

/** The entries an app's context passes on, for a configuration with `logging`. */
function passedOn(logging: object | undefined, levels: LogLevel[]): string[] {
  const kept: string[] = [];
  const context = appContextOf(parseConfig({ users: [], ...(logging && { logging }) }), (entry) => kept.push(entry.level), testResultSigner());
  for (const level of levels) context.log({ level, event: 'app.event' });
  return kept;
}

describe("the app's context logger", () => {
  const all: LogLevel[] = ['info', 'warn', 'error'];

  it('drops what is below the configured level where the app makes it', () => {
    expect(passedOn({ level: 'warn' }, all)).toEqual(['warn', 'error']);
    expect(passedOn({ level: 'error' }, all)).toEqual(['error']);
  });

  it('keeps everything by default (info and above)', () => {
    expect(passedOn(undefined, all)).toEqual(all);
    expect(passedOn({ level: 'info' }, all)).toEqual(all);
  });
});
