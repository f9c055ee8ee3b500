/**
 * OAM rule values (`shared/kernel/rule-pattern.ts`): globs as before (`*`, `?`), and OAM's regular
 * expressions beside them, told apart by their signs, matched over the whole name in linear time;
 * what cannot be matched that way is refused.
 */
import { describe, expect, it } from '@jest/globals';
import { compileRulePattern, RulePatternError } from '../../shared/kernel/rule-pattern.ts';

const matches = (value: string, name: string) => compileRulePattern(value).matches(name);

describe('a rule value', () => {
  it.each([
    ['test*', 'glob'],
    ['cam-??', 'glob'],
    // A dot alone is a name's (an RTSP stream is named by its URL), not a regular expression's.
    ['rtsp://cam.example.com/*', 'glob'],
    ['.*', 'regex'],
    ['test.+', 'regex'],
    ['cam-[0-9]', 'regex'],
    ['^live', 'regex'],
    ['a|b', 'regex'],
    ['cam\\d', 'regex'],
    ['(studio)', 'regex'],
    ['x{2}', 'regex'],
  ])('%s is a %s', (value, kind) => {
    expect(compileRulePattern(value).kind).toBe(kind);
  });

  it("as OAM's example '.*', matches every name", () => {
    for (const name of ['test', 'cam-1', 'rtsp://10.0.0.1/live.sdp', ' '])
      expect(matches('.*', name)).toBe(true);
  });

  it('as a glob, matches as before: OAM\'s example "test*" selects test1', () => {
    expect(matches('test*', 'test1')).toBe(true);
    expect(matches('test*', 'tes')).toBe(false);
    expect(matches('rtsp://cam.example.com/*', 'rtsp://cam.example.com/live.sdp')).toBe(true);
    expect(matches('rtsp://cam.example.com/*', 'rtsp://camXexample.com/live.sdp')).toBe(false);
  });

  it('as a regular expression, matches the whole name', () => {
    expect(matches('cam-[0-9]+', 'cam-12')).toBe(true);
    expect(matches('cam-[0-9]+', 'cam-12x')).toBe(false);
    expect(matches('cam|studio', 'camera')).toBe(false);
    expect(matches('.*cam.*', 'my-camera')).toBe(true);
  });

  it('matches a pathological pattern against a long name without backtracking (it returns)', () => {
    // Catastrophic for a backtracking engine: nested quantifiers over a name that almost matches.
    const pattern = '(a|a)*(a|aa)+(x+x+)+.*.*.*-hd';
    expect(matches(pattern, `${'a'.repeat(100_000)}!`)).toBe(false);
    expect(matches('^(a+)+$', `${'a'.repeat(100_000)}!`)).toBe(false);
  });

  it.each([
    ['(?=a)a', /lookahead|unsupported/],
    ['(a)\\1', /escape/],
    ['a{1001}', /repeat/],
    ['[ab', /missing closing \]/],
    ['[a-z]{1000}', /too large/],
  ])('%s is refused, saying why', (value, why) => {
    expect(() => compileRulePattern(value)).toThrow(RulePatternError);
    expect(() => compileRulePattern(value)).toThrow(why);
  });
});
