/**
 * Plain-text tables for the terminal: a header row, a rule, and columns padded to their widest
 * cell; numbers right-aligned so that digits line up.
 */
export type Alignment = 'left' | 'right';

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly Alignment[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => ((align?.[column] ?? 'left') === 'right' ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(headers), rule, ...rows.map((row) => line(headers.map((_, column) => row[column] ?? '')))].join('\n') + '\n';
}
