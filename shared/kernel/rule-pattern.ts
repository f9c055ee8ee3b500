/**
 * The value of an OAM rule (`rule/create {type, value}`, reference §5.2): a template over a stream
 * name or a mediaSessionId. OAM's documents show it both ways, `test*` (a glob) and `.*` (a regular
 * expression, as OAM, a Java program, matches its rules); both are read here, told apart by their
 * signs:
 *
 * - a **regular expression** when the value has any of `^ $ ( ) [ ] { } | + \`, or a `.` followed by
 *   `*`, `+`, `?` or `{` (`.*`, `.+`): RE2 syntax (Java's and JavaScript's, less backreferences and
 *   lookaround), matched against the whole name, as Java's `String.matches`;
 * - a **glob** otherwise (`kernel/glob.ts`): `*` any run of characters, `?` one, anything else
 *   itself. A dot alone is a name's: an RTSP stream is named by its URL (`rtsp://cam.example/live`).
 *
 * Both match in time linear in the name, whatever the value. A regular expression is compiled by
 * RE2JS (a port of RE2: an automaton, never backtracking), so `(a+)+$` against a long name that
 * almost matches returns at once, where JavaScript's RegExp would run for minutes (`kernel/glob.ts`
 * says why a backtracking engine is out). What RE2 cannot match that way (backreferences,
 * lookaround) or a program past `MAX_PROGRAM_INSTRUCTIONS` (`[a-z]{1000}`: each name would cost a
 * thousand steps a character) is refused with `RulePatternError`, so that rule/create and
 * rule/update answer 400 saying why, and the poller never meets it.
 */
import { RE2JS, RE2JSException } from 're2js';
import { globMatches } from './glob.ts';

/** How a rule's value is read. */
export interface RulePattern {
  readonly kind: 'glob' | 'regex';
  /** True when `name` matches the value as a whole. */
  matches(name: string): boolean;
}

/** Why a value cannot be a rule: said as the realm's 400 says it. */
export class RulePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulePatternError';
  }
}

/** Signs of a regular expression a glob never has: see the module comment. */
const REGEX_SIGNS = /[\^$()[\]{}|+\\]|\.[*+?{]/;

/**
 * The largest compiled regular expression accepted, in RE2 program instructions. `.*` is 5,
 * `cam-[0-9]+-(hd|sd)` about 20: a rule needs tens. The bound keeps the work per name and character
 * small: RE2 steps through at most every instruction at each character.
 */
export const MAX_PROGRAM_INSTRUCTIONS = 1000;

/** True when `value` is read as a regular expression rather than a glob. */
export const isRegexForm = (value: string): boolean => REGEX_SIGNS.test(value);

/**
 * `value` compiled for matching: a glob, or a regular expression (see the module comment). Throws
 * `RulePatternError` for a regular expression RE2 refuses or one too large to match cheaply.
 */
export function compileRulePattern(value: string): RulePattern {
  if (!isRegexForm(value)) return { kind: 'glob', matches: (name) => globMatches(value, name) };
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(value);
  } catch (error) {
    if (error instanceof RE2JSException)
      throw new RulePatternError(
        `not a regular expression that can be matched in linear time: ${error.message}`,
      );
    throw error;
  }
  // RE2JS's program is typed `any`: its instructions are counted when it has them.
  const instructions = (compiled.re2().prog as { inst?: unknown[] } | undefined)?.inst?.length ?? 0;
  if (instructions > MAX_PROGRAM_INSTRUCTIONS)
    throw new RulePatternError(
      `a regular expression too large to match cheaply (${instructions} instructions, at most ${MAX_PROGRAM_INSTRUCTIONS}): simplify it`,
    );
  return { kind: 'regex', matches: (name) => compiled.matches(name) };
}
