/**
 * The `restClientConfig` a `connect` answer hands WCS (reference §2): how WCS treats this session's
 * later hooks. It is what makes this backend's decisions stick.
 */
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
 * The `restClientConfig` for a session of an app under `policy` (reference §2, §7): FAIL for the
 * decided methods (WCS's default LOG would ignore a 403), `restExclude: sdp` on the stream hooks
 * unless raw SDP is kept (kilobytes per hook, and codecs arrive in StreamStatusEvent anyway), and
 * OVERWRITE of `record` on publishStream when the app forces recording.
 */
export function restClientConfigFor(policy: AppPolicy, keepSdp: boolean): Record<string, RestMethodConfig> {
  const sdp = keepSdp ? '' : 'sdp';
  const entry = (restOnError: RestMethodConfig['restOnError'], restExclude = sdp): RestMethodConfig => ({
    clientExclude: '',
    restExclude,
    restOnError,
    restPolicy: 'NOTIFY',
    restOverwrite: '',
  });
  return {
    publishStream: policy.forceRecord
      ? { ...entry('FAIL'), restPolicy: 'OVERWRITE', restOverwrite: 'record' }
      : entry('FAIL'),
    playStream: entry('FAIL'),
    OnDataEvent: entry('FAIL', ''),
    StreamKeepAliveEvent: entry('FAIL'),
    StreamStatusEvent: entry('LOG'),
    unPublishStream: entry('LOG'),
    stopStream: entry('LOG'),
  };
}
