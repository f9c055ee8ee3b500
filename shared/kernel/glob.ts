/**
 * Globs over a whole name: `*` matches any run of characters (slashes included, stream names are not
 * paths), `?` one character; anything else matches itself. Grants (`admission/grants.ts`) and OAM's
 * rule templates in their glob form (`kernel/rule-pattern.ts`, which reads OAM's regular expressions
 * with RE2JS, an engine that does not backtrack) match names with it.
 *
 * Written by hand, and not as a regular expression: the glob libraries (picomatch, minimatch) are
 * path matchers, where `*` stops at `/`; and a regular expression such as `^cam-.*-.*-.*-hd$`
 * backtracks on a long name that almost matches (0.6-3.1 s for a 1,005-character name, in one
 * synchronous call no deadline can interrupt). This matcher keeps only the last `*` to fall back
 * to, so it takes at most (pattern length × name length) steps, whatever the input.
 */

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
