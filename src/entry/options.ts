/**
 * Commander options made from the settings table (config.ts): each command lists the flags of the rows
 * that name it, with the environment variable and the default for its entry point in the help text, and
 * hands back only the flags given on the command line, keyed by setting.
 */
import { Option, type Command } from 'commander';
import { describeDefault, SETTINGS, type Entry, type SettingCommand, type SettingKey, type SettingRow } from '../config.js';

/** Adds the flags of every setting that names `command`, in the table's order. */
export function addSettingOptions(cmd: Command, command: SettingCommand, entry: Entry = 'cli'): Command {
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const r: SettingRow = SETTINGS[key];
    if (!r.flag || r.internal || !r.commands.includes(command)) continue;
    const negated = r.flag.startsWith('--no-');
    const dflt = negated ? undefined : describeDefault(key, entry);
    const env = r.env ? `env ${r.env}` : undefined;
    const note = [env, dflt !== undefined ? `default ${dflt}` : undefined].filter(Boolean).join(', ');
    cmd.addOption(new Option(r.flag, `${(r.flagHelp ?? r.help).replace(/`/g, '')}${note ? ` (${note})` : ''}`));
  }
  return cmd;
}

/** Commander's attribute name of each setting's flag (`--out` → `out`, `--no-enrich` → `enrich`). */
const KEY_OF_ATTRIBUTE: ReadonlyMap<string, SettingKey> = new Map(
  (Object.keys(SETTINGS) as SettingKey[]).flatMap((key) => {
    const flag = (SETTINGS[key] as SettingRow).flag;
    return flag ? [[new Option(flag).attributeName(), key] as const] : [];
  }),
);

/**
 * The settings given as flags, keyed by setting. Only values from the command line count: commander
 * invents defaults (`enrich: true` when --no-enrich is absent) that must not hide the environment.
 */
export function explicitFlags(cmd: Command): Record<string, string | boolean | undefined> {
  const out: Record<string, string | boolean | undefined> = {};
  const opts = cmd.opts<Record<string, string | boolean | undefined>>();
  for (const [attribute, value] of Object.entries(opts)) {
    const key = KEY_OF_ATTRIBUTE.get(attribute);
    if (key !== undefined && cmd.getOptionValueSource(attribute) === 'cli') out[key] = value;
  }
  return out;
}
