// Tables for people: a header, columns two spaces apart, numbers to the
// right. Given a width, the one flexible column is cut (with "…") so that
// each line fits; without one, nothing is cut (a pipe or a file). Pure.

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /** This column is cut to fit the width (at most one should be). */
  readonly flex?: boolean;
  /** The narrowest the flexible column is cut to (default 10). */
  readonly min?: number;
}

export interface TableOptions {
  /** Terminal columns; undefined or 0: no limit. */
  readonly width?: number;
  /** Spaces before every line. */
  readonly indent?: number;
  /** Leave out the header line. */
  readonly noHeader?: boolean;
}

const GAP = '  ';

/** Characters as a terminal shows them (one cell each; no wide characters in what relayctl prints). */
export function cells(text: string): number {
  return [...text].length;
}

/** Cut to `width` cells, ending in "…" when cut. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 0) return '';
  return `${chars.slice(0, width - 1).join('')}…`;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - cells(text)));
  return align === 'right' ? fill + text : text + fill;
}

/** The table's lines (no trailing spaces). */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string[] {
  const clean = (value: string | undefined) => (value ?? '').replace(/[\r\n\t]+/g, ' ');
  const body = rows.map((row) => columns.map((_, i) => clean(row[i])));
  const head = columns.map((c) => c.header);
  const widths = columns.map((_, i) =>
    Math.max(options.noHeader ? 0 : cells(head[i]!), ...body.map((row) => cells(row[i]!))),
  );
  const indent = ' '.repeat(options.indent ?? 0);
  const limit = options.width ?? 0;
  const flex = columns.findIndex((c) => c.flex === true);
  if (limit > 0 && flex >= 0) {
    const total =
      indent.length + widths.reduce((a, b) => a + b, 0) + GAP.length * (columns.length - 1);
    if (total > limit) {
      const min = Math.min(widths[flex]!, columns[flex]!.min ?? 10);
      widths[flex] = Math.max(min, widths[flex]! - (total - limit));
    }
  }
  const line = (row: readonly string[]) =>
    indent +
    columns
      .map((column, i) => {
        const value = i === flex ? truncate(row[i]!, widths[i]!) : row[i]!;
        const last = i === columns.length - 1;
        const align = column.align ?? 'left';
        return last && align === 'left' ? value : pad(value, widths[i]!, align);
      })
      .join(GAP)
      .trimEnd();
  return [...(options.noHeader ? [] : [line(head)]), ...body.map(line)];
}

/** "label   value" lines, labels padded to one column. */
export function renderFields(fields: readonly (readonly [string, string])[], indent = 2): string[] {
  const width = Math.max(0, ...fields.map(([label]) => cells(label)));
  return fields.map(([label, value]) =>
    `${' '.repeat(indent)}${pad(label, width, 'left')}  ${value}`.trimEnd(),
  );
}
