/**
 * Stream-name grants: the glob matcher agrees with the regular expression it replaced on any
 * pattern and name, and takes no more than (pattern × name) steps on the inputs that made that
 * regular expression backtrack for seconds.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { globMatches, matchesAny } from '../../shared/admission/grants.ts';

/** The old matcher: the glob as a regular expression (correct, but exponential on some inputs). */
function regexMatches(pattern: string, name: string): boolean {
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'su').test(name);
}

describe('globMatches', () => {
  it.each([
    ['cam-*', 'cam-1', true],
    ['cam-*', 'cam-', true],
    ['cam-*', 'cab-1', false],
    ['room/*', 'room/a/b', true],
    ['?-hd', 'a-hd', true],
    ['?-hd', 'ab-hd', false],
    ['*', '', true],
    ['', '', true],
    ['', 'x', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['🎥-*', '🎥-live', true],
    ['?', '🎥', true],
  ])('matches %j against %j: %s', (pattern, name, expected) => {
    expect(globMatches(pattern, name)).toBe(expected);
  });

  it('agrees with the regular expression it replaced, on any pattern and name', () => {
    const alphabet = fc.constantFrom('a', 'b', '-', '*', '?', '.', '🎥');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 8 }).map((a) => a.join('')),
        fc.array(fc.constantFrom('a', 'b', '-', '.', '🎥'), { maxLength: 12 }).map((a) => a.join('')),
        (pattern, name) => {
          expect(globMatches(pattern, name)).toBe(regexMatches(pattern, name));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('answers the inputs that made the regular expression backtrack, 200 times over', () => {
    // `cam-*-*-*-hd` against a 1,005-character name that almost matches took the regex 0.6-3.1 s each.
    const name = `cam-${'-'.repeat(1000)}x`;
    for (let i = 0; i < 200; i++) {
      expect(matchesAny(['cam-*-*-*-hd', '*a*a*a*a*a*a*a*b'], name)).toBe(false);
    }
  });
});
