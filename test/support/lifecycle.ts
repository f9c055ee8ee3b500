/**
 * The lifecycle generator (fast-check): a session's end and its streams (publish or play, how each
 * ends, whether keep-alives come), as WCS reports them. The order property (hooks in any order) and
 * the usage property (aggregates under any delivery order) both draw from it.
 */
import fc from 'fast-check';

/** A lifecycle, as the statuses WCS reports; the hooks are built for a given session id. */
export interface Lifecycle {
  readonly sessionEnd: 'DISCONNECTED' | 'FAILED' | 'FAILED+DISCONNECTED' | 'none';
  readonly streams: readonly {
    published: boolean;
    end: 'normal' | 'FAILED' | 'FAILED+normal' | 'none';
    keepAlive: boolean;
  }[];
}

export const lifecycle: fc.Arbitrary<Lifecycle> = fc.record({
  sessionEnd: fc.constantFrom('DISCONNECTED', 'FAILED', 'FAILED+DISCONNECTED', 'none'),
  streams: fc.array(
    fc.record({
      published: fc.boolean(),
      end: fc.constantFrom('normal', 'FAILED', 'FAILED+normal', 'none'),
      keepAlive: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
});
