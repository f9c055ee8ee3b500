import { describe, expect, it } from '@jest/globals';
import { DEFAULT_FAIL_MODES, parseFailModes } from '../../shared/http/fail-modes.ts';

describe('the default fail modes', () => {
  it('are the registry’s: closed where an unchecked decision would let the wrong client in, open elsewhere', () => {
    expect(DEFAULT_FAIL_MODES).toEqual({
      connect: 'closed',
      publishStream: 'closed',
      playStream: 'open',
      OnDataEvent: 'open',
      StreamKeepAliveEvent: 'open',
    });
  });
});

describe('parseFailModes (DECISION_FAIL_MODES)', () => {
  it('takes nothing for unset or blank', () => {
    expect(parseFailModes(undefined)).toEqual({});
    expect(parseFailModes('  ')).toEqual({});
  });

  it('takes a fail mode per decision hook', () => {
    expect(parseFailModes('{"connect":"open","playStream":"closed"}')).toEqual({
      connect: 'open',
      playStream: 'closed',
    });
  });

  it.each([
    ['{connect:open}', /not JSON/],
    ['["connect"]', /JSON object/],
    ['{"StreamStatusEvent":"open"}', /not a decision hook/],
    ['{"connect":"maybe"}', /"open" or "closed"/],
  ])('refuses %s, saying why', (raw, reason) => {
    expect(() => parseFailModes(raw)).toThrow(reason);
  });
});
