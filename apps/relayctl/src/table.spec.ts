import { describe, expect, it } from 'vitest';
import { renderFields, renderTable, truncate } from './table.js';

describe('renderTable', () => {
  const columns = [
    { header: 'NAME' },
    { header: 'N', align: 'right' as const },
    { header: 'TEXT', flex: true, min: 5 },
  ];
  const rows = [
    ['a', '1', 'short'],
    ['longer', '100', 'a rather long piece of text'],
  ];

  it('pads columns two spaces apart, numbers to the right, no trailing spaces', () => {
    expect(renderTable(columns, rows)).toEqual([
      'NAME      N  TEXT',
      'a         1  short',
      'longer  100  a rather long piece of text',
    ]);
  });

  it('cuts the flexible column to fit the width, never below its minimum', () => {
    expect(renderTable(columns, rows, { width: 25 })).toEqual([
      'NAME      N  TEXT',
      'a         1  short',
      'longer  100  a rather lo…',
    ]);
    const narrow = renderTable(columns, rows, { width: 10 });
    expect(narrow[2]).toBe('longer  100  a ra…');
  });

  it('indents, leaves the header out, and keeps a row on one line', () => {
    expect(
      renderTable([{ header: 'A' }, { header: 'B' }], [['x\ny', 'z']], {
        indent: 2,
        noHeader: true,
      }),
    ).toEqual(['  x y  z']);
  });
});

describe('truncate and renderFields', () => {
  it('cuts with an ellipsis', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcdef', 0)).toBe('');
  });

  it('aligns labels', () => {
    expect(
      renderFields([
        ['state', 'held'],
        ['next hops', '-'],
      ]),
    ).toEqual(['  state      held', '  next hops  -']);
  });
});
