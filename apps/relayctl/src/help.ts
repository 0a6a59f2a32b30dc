// `relayctl --help` and `relayctl <command> --help`, from commands.ts. Pure.

import { COMMANDS, GLOBAL_OPTIONS, commandSpec, type OptionSpec } from './commands.js';
import { EXIT_CODE_HELP } from './exit-codes.js';

const WIDTH = 80;

function wrap(text: string, indent: number, width = WIDTH): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
      if (line !== '' && indent + line.length + 1 + word.length > width) {
        lines.push(' '.repeat(indent) + line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line === '' ? '' : ' '.repeat(indent) + line);
  }
  return lines;
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const names = options.map(
    (o) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`,
  );
  const column = Math.min(30, Math.max(...names.map((n) => n.length)) + 2);
  return options.flatMap((option, i) => {
    const name = names[i]!;
    const help = wrap(option.help, 2 + column, WIDTH);
    const first = help[0]!.trimStart();
    const head =
      name.length + 2 <= column
        ? [`  ${name.padEnd(column)}${first}`]
        : [`  ${name}`, `${' '.repeat(2 + column)}${first}`];
    return [...head, ...help.slice(1)];
  });
}

function exitCodeLines(): string[] {
  return EXIT_CODE_HELP.map(([code, meaning]) => `  ${code}  ${meaning}`);
}

/** relayctl --help. */
export function globalHelp(): string {
  const column = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'relayctl: the operator’s command line of a Petrel relay (its admin API)',
    '',
    'Usage: relayctl [OPTIONS] COMMAND [ARGS]',
    '',
    'Commands:',
    ...COMMANDS.flatMap((c) => {
      const [first, ...rest] = wrap(c.summary, 2 + column);
      return [`  ${c.name.padEnd(column)}${first!.trimStart()}`, ...rest];
    }),
    '',
    'Selectors (list and every mutation; every option given must match):',
    '  ID...                         message ids, or entry ids (<message>.<n>)',
    ...optionLines(commandSpec('list')!.options.filter((o) => o.name !== 'limit')),
    '',
    'Options (before or after the command):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes:',
    ...exitCodeLines(),
    '',
    'Run relayctl COMMAND --help for a command’s own options.',
    '',
  ].join('\n');
}

/** relayctl <command> --help. */
export function commandHelp(name: string): string {
  const spec = commandSpec(name);
  if (spec === undefined) return globalHelp();
  return [
    `Usage: relayctl ${spec.usage}`,
    '',
    ...wrap(spec.description, 0),
    ...(spec.options.length > 0 ? ['', 'Options:', ...optionLines(spec.options)] : []),
    '',
    'Connection and output (see relayctl --help): --server, --token-file, --ca,',
    '--cert, --key, --timeout, --json.',
    '',
    'Exit codes:',
    ...exitCodeLines(),
    '',
  ].join('\n');
}
