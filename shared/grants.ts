/**
 * Stream-name grants: the patterns a token allows a user to publish and to play. A pattern is a
 * glob over the whole name: `*` matches any run of characters (slashes included, stream names are
 * not paths), `?` one character; anything else matches itself. Written by hand because the glob
 * libraries (picomatch, minimatch) are path matchers, where `*` stops at `/`.
 */

const cache = new Map<string, RegExp>();

function regexOf(pattern: string): RegExp {
  let regex = cache.get(pattern);
  if (!regex) {
    const body = [...pattern]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${body}$`, 's');
    cache.set(pattern, regex);
  }
  return regex;
}

/** True when `name` matches one of `patterns`. */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((pattern) => regexOf(pattern).test(name));
}
