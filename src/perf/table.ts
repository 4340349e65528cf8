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

/** 1234567.8 -> "1,234,568". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Three significant digits at most, without exponent: 0.0412 -> "0.0412", 12.345 -> "12.3", 1234.5 -> "1235". */
export function formatFigure(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, 2 - magnitude);
  return value.toFixed(Math.min(decimals, 6));
}
