/**
 * The hook HMAC secrets (WCS's `rest_hook_secret_key`). `WCS_HOOK_SECRET` holds a comma-separated
 * list, so that a new secret can be added before the WCS nodes switch to it and the old one removed
 * after. Unset or empty: signatures are not checked (WCS's default `rest_hook_send_hash=false`).
 */
const fromEnvironment = (process.env.WCS_HOOK_SECRET ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

/** The secrets a hook's `Authorization` may be signed with. */
export function hookSecrets(): readonly string[] {
  return fromEnvironment;
}
