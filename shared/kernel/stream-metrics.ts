/**
 * The stream metrics a WCS node reports (`/rest-api/stream/metrics`, and `stream/find` with
 * `display: ["metrics"]`: reference §4) in WCS OAM's catalogue (`metric/list`, reference §5.2): an
 * id, a name and the `enumName` the node uses as the key of the value.
 *
 * Numbered as WCS OAM 1.0 numbers them. OAM's documents give two numberings. Their catalogue table
 * (unchanged since the first OAM documents) starts at VIDEO_HEIGHT 2, VIDEO_WIDTH 3, VIDEO_RATE 4;
 * the first documents' examples agree with it (`metric/list {"id":"4"}` answers "Video rate", a
 * profile collects `["4","11"]`, video and audio rate). The OAM 1.0 documents' examples are all one
 * less: `metric/list {"id":"3"}` answers `{"id":3,"name":"Video rate",...}` (a captured answer: its
 * content-length, 159, is the body's), the same profile collects `["3","10"]`, an alarm on metric
 * "3" has a bitrate threshold (100000), and a profile collects `["1","2"]`, which the table has no 1
 * for. So OAM 1.0 numbers the table from 1: VIDEO_HEIGHT 1 ... AUDIO_CODEC 12, and the frame counts
 * 15-17. VIDEO_LOST is not in OAM's table (WCS reports it): it takes 13, where the table's numbering
 * put it (14) less one. An OAM client is written against OAM 1.0, so these are the ids here.
 *
 * Profiles and alarms stored by earlier versions hold ids of the numbering used before
 * (`LEGACY_METRIC_IDS`: the table's, but VIDEO_RATE 3 and VIDEO_WIDTH 4); they are read through
 * it (`state/oam-config.ts`), and stored by `enumName` from now on.
 */
export interface StreamMetric {
  readonly id: number;
  readonly name: string;
  readonly note: string;
  readonly enumName: string;
}

const metric = (id: number, enumName: string, name: string, note = ''): StreamMetric => ({
  id,
  name,
  note,
  enumName,
});

export const STREAM_METRICS: readonly StreamMetric[] = [
  metric(1, 'VIDEO_HEIGHT', 'Video height', 'pixels'),
  metric(2, 'VIDEO_WIDTH', 'Video width', 'pixels'),
  metric(3, 'VIDEO_RATE', 'Video rate', 'bits per second'),
  metric(4, 'VIDEO_SYNC', 'Video sync', 'audio/video sync offset, milliseconds'),
  metric(5, 'VIDEO_FPS', 'Video FPS', 'frames per second'),
  metric(6, 'VIDEO_NACK', 'Video NACK', 'NACKs received'),
  metric(7, 'VIDEO_PLI', 'Video PLI', 'PLIs received'),
  metric(8, 'VIDEO_CODEC', 'Video codec'),
  metric(9, 'AUDIO_SYNC', 'Audio sync', 'milliseconds'),
  metric(10, 'AUDIO_RATE', 'Audio rate', 'bits per second'),
  metric(11, 'AUDIO_LOST', 'Audio lost', 'packets lost'),
  metric(12, 'AUDIO_CODEC', 'Audio codec'),
  metric(13, 'VIDEO_LOST', 'Video lost', 'packets lost'),
  metric(15, 'VIDEO_B_FRAMES', 'Video B-frames'),
  metric(16, 'VIDEO_K_FRAMES', 'Video key frames'),
  metric(17, 'VIDEO_P_FRAMES', 'Video P-frames'),
];

const byId = new Map(STREAM_METRICS.map((m) => [String(m.id), m]));
const byEnumName = new Map(STREAM_METRICS.map((m) => [m.enumName, m]));

/** The metric with OAM id `id` (a number or its text, as OAM's payloads spell ids). */
export const streamMetricById = (id: unknown): StreamMetric | undefined => byId.get(String(id));

/** The metric whose values WCS keys `enumName` (`VIDEO_RATE`). */
export const streamMetricByEnumName = (enumName: unknown): StreamMetric | undefined =>
  typeof enumName === 'string' ? byEnumName.get(enumName) : undefined;

/** The ids of the numbering before OAM 1.0's (see above), by which older stored profiles and alarms name metrics. */
export const LEGACY_METRIC_IDS: Readonly<Record<number, string>> = {
  2: 'VIDEO_HEIGHT',
  3: 'VIDEO_RATE',
  4: 'VIDEO_WIDTH',
  5: 'VIDEO_SYNC',
  6: 'VIDEO_FPS',
  7: 'VIDEO_NACK',
  8: 'VIDEO_PLI',
  9: 'VIDEO_CODEC',
  10: 'AUDIO_SYNC',
  11: 'AUDIO_RATE',
  12: 'AUDIO_LOST',
  13: 'AUDIO_CODEC',
  14: 'VIDEO_LOST',
  16: 'VIDEO_B_FRAMES',
  17: 'VIDEO_K_FRAMES',
  18: 'VIDEO_P_FRAMES',
};
