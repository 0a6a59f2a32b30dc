import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';
import { commandHelp, globalHelp } from './help.js';

describe('help', () => {
  it('lists every command, the selectors, the options and the exit codes', () => {
    const text = globalHelp();
    for (const command of COMMANDS) expect(text).toMatch(new RegExp(`^  ${command.name} `, 'm'));
    for (const option of [
      '--server',
      '--token-file',
      '--ca',
      '--cert',
      '--key',
      '--json',
      '--state',
      '--all',
    ])
      expect(text).toContain(option);
    for (const code of [0, 1, 2, 3, 4, 5]) expect(text).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });

  it('gives every command its usage, its options and the exit codes', () => {
    for (const command of COMMANDS) {
      const text = commandHelp(command.name);
      expect(text.startsWith(`Usage: relayctl ${command.name}`)).toBe(true);
      for (const option of command.options) expect(text).toContain(`--${option.name}`);
      expect(text).toContain('Exit codes:');
    }
  });

  it('keeps to 80 columns', () => {
    for (const text of [globalHelp(), ...COMMANDS.map((c) => commandHelp(c.name))])
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});
