/**
 * The `restClientConfig` a `connect` answer hands WCS (reference §2): how WCS treats this session's
 * later hooks. It is what makes this backend's decisions stick. Derived from the registry: a hook
 * that decides (`answers: { decides }`) is there with `restOnError: FAIL`, one whose body carries
 * SDP (`carriesSdp`) with `restExclude: sdp`; adding such a hook to the registry is all it takes.
 */
import { answersOf, HOOKS } from '../kernel/registry.ts';
import type { AppPolicy } from '../state/apps.ts';

/** One entry of `restClientConfig` (reference §2.1); WCS wants every value as a string. */
export interface RestMethodConfig {
  clientExclude: string;
  restExclude: string;
  restOnError: 'LOG' | 'FAIL';
  restPolicy: 'NOTIFY' | 'OVERWRITE' | 'DISABLE';
  restOverwrite: string;
}

/**
 * The `restClientConfig` for a session of an app under `policy` (reference §2, §7): FAIL for every
 * decision hook after `connect` (WCS's default LOG would ignore a 403), `restExclude: sdp` on the
 * hooks that carry SDP unless raw SDP is kept (kilobytes per hook, and codecs arrive in
 * StreamStatusEvent anyway), and OVERWRITE of `record` on publishStream when the app forces
 * recording.
 */
export function restClientConfigFor(policy: AppPolicy, keepSdp: boolean): Record<string, RestMethodConfig> {
  const config: Record<string, RestMethodConfig> = {};
  for (const hook of HOOKS) {
    const decides = answersOf(hook) !== 'records' && hook.type !== 'connect';
    if (!decides && !hook.carriesSdp) continue;
    config[hook.method] = {
      clientExclude: '',
      restExclude: hook.carriesSdp && !keepSdp ? 'sdp' : '',
      restOnError: decides ? 'FAIL' : 'LOG',
      restPolicy: 'NOTIFY',
      restOverwrite: '',
    };
  }
  if (policy.forceRecord && config.publishStream) {
    config.publishStream = { ...config.publishStream, restPolicy: 'OVERWRITE', restOverwrite: 'record' };
  }
  return config;
}
