import { describe, expect, it } from '@jest/globals';
import { codecsOf } from '../../shared/state/sdp.ts';

describe('codecsOf', () => {
  it('names the audio and video codecs of a WebRTC offer in preference order, without helpers', () => {
    const sdp = [
      'v=0',
      'o=- 1 2 IN IP4 127.0.0.1',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
      'a=rtpmap:111 opus/48000/2',
      'a=rtpmap:63 red/48000/2',
      'a=rtpmap:9 G722/8000',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:13 CN/8000',
      'a=rtpmap:110 telephone-event/48000',
      'a=rtpmap:126 telephone-event/8000',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 45',
      'a=rtpmap:96 VP8/90000',
      'a=rtpmap:97 rtx/90000',
      'a=rtpmap:102 H264/90000',
      'a=rtpmap:103 rtx/90000',
      'a=rtpmap:45 AV1/90000',
    ].join('\r\n');

    expect(codecsOf(sdp)).toEqual({ audio: ['opus', 'G722', 'PCMU', 'PCMA'], video: ['VP8', 'H264', 'AV1'] });
  });

  it('names a static payload type without an rtpmap by its number', () => {
    expect(codecsOf('m=audio 5004 RTP/AVP 0\n').audio).toEqual(['0']);
  });

  it('ignores media other than audio and video, and returns empty lists for no SDP', () => {
    expect(codecsOf('m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n')).toEqual({ audio: [], video: [] });
    expect(codecsOf('')).toEqual({ audio: [], video: [] });
  });
});
