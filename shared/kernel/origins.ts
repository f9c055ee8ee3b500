/**
 * Which browser origins may use the monitoring API (OAM's `access_control_allow_origin`): the REST
 * realms' CORS and the realtime WebSocket's `Origin` check. `ALLOWED_ORIGINS` lists them
 * (comma-separated); `*` allows any, and only when configured so. A request without an `Origin`
 * (not a browser) and a page of the API's own origin are always allowed.
 */
import { setting } from './config.ts';

/** The configured origins, normalized (`https://ops.example.com`, no trailing slash); `*` for any. */
export function parseAllowedOrigins(spec: string | undefined): readonly string[] {
  return (spec ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter((o) => o.length > 0)
    .map((o) => {
      if (o === '*') return o;
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new Error(`ALLOWED_ORIGINS: "${o}" is not an origin (scheme://host[:port]) or *`);
      }
      if (url.origin === 'null' || url.pathname !== '/' || url.search || url.hash)
        throw new Error(`ALLOWED_ORIGINS: "${o}" is not an origin (scheme://host[:port]) or *`);
      return url.origin;
    });
}

const allowed = parseAllowedOrigins(setting('ALLOWED_ORIGINS'));

/**
 * True when a browser page of `origin` may use the API served at `host` (the request's `Host`):
 * no origin, the API's own origin, a configured one, or any when `*` is configured.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true;
  if (allowed.includes('*')) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (host !== undefined && parsed.host === host) return true;
  return allowed.includes(parsed.origin);
}
