/**
 * The files of the live console (`console/index.html`) and what it loads: the STOMP client and the
 * charting library (uPlot), from `node_modules`, never from a CDN. Read from the repository when the
 * code runs from it (`npm start`, the tests); in a Lambda bundle this module is replaced by one that
 * holds their text (`inlineConsoleAssets`, `infra/constructs/bundle.ts`), as a function has no
 * repository to read.
 */
import { readFileSync } from 'node:fs';

/** Each file, as a path from the project root. */
export const CONSOLE_FILES = {
  html: 'shared/realtime/console/index.html',
  stomp: 'node_modules/@stomp/stompjs/bundles/stomp.umd.min.js',
  uplot: 'node_modules/uplot/dist/uPlot.iife.min.js',
  uplotCss: 'node_modules/uplot/dist/uPlot.min.css',
} as const;

export type ConsoleAssets = Readonly<Record<keyof typeof CONSOLE_FILES, string>>;

/** The text of every console file, read from `root` (the project root). */
export function readConsoleAssets(root: URL = new URL('../../', import.meta.url)): ConsoleAssets {
  return Object.fromEntries(
    Object.entries(CONSOLE_FILES).map(([name, path]) => [name, readFileSync(new URL(path, root), 'utf8')]),
  ) as unknown as ConsoleAssets;
}

let cached: ConsoleAssets | undefined;

/** The console files, read once. */
export function consoleAssets(): ConsoleAssets {
  cached ??= readConsoleAssets();
  return cached;
}
