/**
 * Codec names from an SDP, so that the codecs of a stream are kept without its SDP (kilobytes per
 * hook, reference §1.3 "sdp (offer; large …)"). Reads `m=` lines and their `a=rtpmap` attributes
 * (RFC 8866 §5.14, §6.6); payload types without an rtpmap (static types) are named by their
 * number. Protocol helpers such as `rtx`, `red`, `ulpfec` and `telephone-event` are left out.
 */
const HELPERS = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03', 'telephone-event', 'cn']);

export interface SdpCodecs {
  audio: string[];
  video: string[];
}

/** The distinct codecs offered for audio and for video, in the order the SDP prefers them. */
export function codecsOf(sdp: string): SdpCodecs {
  const codecs: SdpCodecs = { audio: [], video: [] };
  let media: keyof SdpCodecs | undefined;
  let payloadTypes: string[] = [];
  const names = new Map<string, string>();
  const flush = () => {
    if (!media) return;
    for (const pt of payloadTypes) {
      const name = names.get(pt) ?? pt;
      if (!HELPERS.has(name.toLowerCase()) && !codecs[media].includes(name)) codecs[media].push(name);
    }
  };
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      flush();
      const [kind, , , ...formats] = line.slice(2).trim().split(/\s+/);
      media = kind === 'audio' || kind === 'video' ? kind : undefined;
      payloadTypes = formats;
      names.clear();
    } else if (line.startsWith('a=rtpmap:')) {
      const match = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(line);
      if (match?.[1] && match[2]) names.set(match[1], match[2]);
    }
  }
  flush();
  return codecs;
}
