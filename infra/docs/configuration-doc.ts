/**
 * Renders `docs/configuration.md` from the configuration catalogue (`shared/kernel/config.ts`), so
 * the documented variables, defaults and meanings are the ones the code reads. `npm run docs`
 * writes it; a test fails when it is out of date.
 */
import { SETTINGS, type Setting, type SettingName, TABLE_VARIABLES } from '#shared/kernel/config.ts';

function defaultOf(name: SettingName): string {
  const setting: Setting = SETTINGS[name];
  if (setting.shown) return setting.shown;
  return setting.fallback === undefined ? 'unset' : `\`${String(setting.fallback)}\``;
}

/** The Markdown of `docs/configuration.md`. */
export function renderConfigurationDoc(): string {
  const names = Object.keys(SETTINGS) as SettingName[];
  const operator = names.filter((name) => SETTINGS[name].audience === 'operator');
  const wiring = names.filter((name) => SETTINGS[name].audience === 'wiring');
  const where = (name: SettingName) => {
    const setting: Setting = SETTINGS[name];
    if (setting.localOnly) return '`npm start` only';
    return setting.inAws ?? '';
  };
  return [
    '# Configuration',
    '',
    '<!-- Generated from shared/kernel/config.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Environment variables, for `npm start` (and the functions it runs). In AWS the stack sets them on',
    'the functions from CDK context ([deploy](deploy.md), "Settings"): the last column says how, naming the',
    'context key where one sets it. A malformed value stops `npm start`, or the function, at start, naming the variable.',
    '',
    '| variable | default | meaning | in AWS |',
    '|---|---|---|---|',
    ...operator.map(
      (name) => `| \`${name}\` | ${defaultOf(name)} | ${SETTINGS[name].meaning} | ${where(name)} |`,
    ),
    '',
    '## Set by the deployment',
    '',
    'Wiring the CDK stack (or `npm start`) sets on each function; not for setting by hand.',
    '',
    '| variable | meaning |',
    '|---|---|',
    ...wiring.map((name) => `| \`${name}\` | ${SETTINGS[name].meaning} |`),
    `| \`<TABLE>_TABLE\` | ${TABLE_VARIABLES.meaning} |`,
    '',
  ].join('\n');
}
