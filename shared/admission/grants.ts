/**
 * Stream-name grants: the patterns a token allows a user to publish and to play, globs over the
 * whole name (`kernel/glob.ts`: linear time, whatever the input); patterns and names are bounded too
 * (`MAX_GRANT_PATTERN_CHARS`, the schemas' name limit).
 */
import { globMatches } from '../kernel/glob.ts';

/** Longest pattern a token may grant, in characters. */
export const MAX_GRANT_PATTERN_CHARS = 256;
/** Most patterns a token may grant for one action. */
export const MAX_GRANT_PATTERNS = 64;

export { globMatches };

/** True when `name` matches one of `patterns`. */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((pattern) => globMatches(pattern, name));
}
