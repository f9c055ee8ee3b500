/**
 * Stream-name grants: the patterns a token allows a user to publish and to play. A pattern is a
 * glob over the whole name: `*` matches any run of characters (slashes included, stream names are
 * not paths), `?` one character; anything else matches itself.
 *
 * Written by hand, and not as a regular expression: the glob libraries (picomatch, minimatch) are
 * path matchers, where `*` stops at `/`; and a regular expression such as `^cam-.*-.*-.*-hd$`
 * backtracks on a long name that almost matches (0.6-3.1 s for a 1,005-character name, in one
 * synchronous call no deadline can interrupt). This matcher keeps only the last `*` to fall back
 * to, so it takes at most (pattern length × name length) steps, whatever the input; patterns and
 * names are bounded too (`MAX_GRANT_PATTERN_CHARS`, the schemas' name limit).
 */

/** Longest pattern a token may grant, in characters. */
export const MAX_GRANT_PATTERN_CHARS = 256;
/** Most patterns a token may grant for one action. */
export const MAX_GRANT_PATTERNS = 64;

/** True when `name` matches the glob `pattern` as a whole. */
export function globMatches(pattern: string, name: string): boolean {
  const p = [...pattern];
  const n = [...name];
  let pi = 0;
  let ni = 0;
  // Where the last `*` was, and the name position it is currently taken to cover up to.
  let star = -1;
  let covered = 0;
  while (ni < n.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === n[ni]))) {
      pi++;
      ni++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      covered = ni;
    } else if (star !== -1) {
      // Let the last `*` cover one character more, and try the rest of the pattern again from there.
      pi = star + 1;
      ni = ++covered;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** True when `name` matches one of `patterns`. */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((pattern) => globMatches(pattern, name));
}
