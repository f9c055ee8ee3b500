/**
 * Dotted paths into a hook body (`custom.token`, the policy's `tokenPath`): where admission reads
 * the client's token, and where the session record leaves it out.
 */

/** The value at `path` (`custom.token`) inside `root`; `undefined` where the path runs out. */
export function valueAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A copy of `root` without the value at `path`; `root` itself is left as it was. */
export function withoutValueAt<T>(root: T, path: string): T {
  const copy = structuredClone(root);
  const keys = path.split('.');
  const last = keys.pop() as string;
  const parent = keys.length === 0 ? copy : valueAt(copy, keys.join('.'));
  if (parent !== null && typeof parent === 'object') delete (parent as Record<string, unknown>)[last];
  return copy;
}
