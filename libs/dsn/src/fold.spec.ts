import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldField, octets, wrapWords } from './fold.js';

const unfold = (field: string): string => field.replace(/\r\n(?= )/g, '');

describe('foldField', () => {
  it('leaves a short field on one line', () => {
    expect(foldField('Status', ['5.1.1'])).toBe('Status: 5.1.1');
  });

  it('breaks before the word that would pass 78 octets, and the break unfolds to a space', () => {
    const words =
      'smtp; 550 5.1.1 The email account that you tried to reach does not exist at all'.split(' ');
    const field = foldField('Diagnostic-Code', words);
    expect(field).toBe(
      'Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach\r\n' +
        ' does not exist at all',
    );
    // With " does" the first line would be 79 octets.
    expect(field.split('\r\n')[0]).toHaveLength(74);
    expect(unfold(field)).toBe(`Diagnostic-Code: ${words.join(' ')}`);
  });

  it('keeps the first word on the name line however long it is', () => {
    const word = 'y'.repeat(100);
    expect(foldField('X', [word, 'z'])).toBe(`X: ${word}\r\n z`);
  });

  it('cuts a word longer than 998 octets, at a character boundary', () => {
    const word = 'é'.repeat(700); // 1400 octets
    const field = foldField('X', ['a', word]);
    const lines = field.split('\r\n');
    for (const line of lines) expect(octets(line)).toBeLessThanOrEqual(998);
    expect(lines.join('').replace(/ /g, '')).toBe(`X:a${word}`);
    expect(lines.every((l) => l.isWellFormed())).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const word = '\u{1F4EC}'.repeat(600); // 2400 octets
    const lines = foldField('X', [word]).split('\r\n');
    expect(lines.every((l) => l.isWellFormed() && octets(l) <= 998)).toBe(true);
    expect(lines.length).toBe(3);
  });

  it('holds to its limits for any words (property)', () => {
    const word = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 1200 })
      .map((w) => w.replace(/[\s]/g, 'x'));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 30 }), (words) => {
        const field = foldField('Diagnostic-Code', words);
        const lines = field.split('\r\n');
        for (const line of lines) expect(octets(line)).toBeLessThanOrEqual(998);
        for (const line of lines.slice(1)) expect(line).toMatch(/^ \S/);
        // Lines over 78 octets hold one word only.
        for (const line of lines.slice(1)) {
          if (octets(line) > 78) expect(line.slice(1)).not.toContain(' ');
        }
        // Nothing is lost: the words come back, cut words as pieces.
        expect(
          lines
            .join('')
            .replace(/^Diagnostic-Code:/, '')
            .replace(/ /g, ''),
        ).toBe(words.join(''));
      }),
    );
  });
});

describe('wrapWords', () => {
  it('indents continuation lines of text', () => {
    const lines = wrapWords('one two three four five'.split(' '), {
      first: '',
      next: '    ',
      soft: 12,
      hard: 998,
    });
    expect(lines).toEqual(['one two', '    three', '    four', '    five']);
  });

  it('gives one empty line for no words', () => {
    expect(wrapWords([], { first: '', next: '', soft: 76, hard: 998 })).toEqual(['']);
  });
});
