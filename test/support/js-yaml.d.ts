/**
 * The part of js-yaml 3 (a dev dependency; it ships no types) the workflow test uses: YAML 1.2's
 * core schema, which is what GitHub reads a workflow with.
 */
declare module 'js-yaml' {
  export function safeLoad(source: string): unknown;
}
