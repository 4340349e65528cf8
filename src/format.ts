/**
 * Numbers as people read them, shared by the terminal tables (src/perf) and the web console
 * (src/http): counts with thousands separators, measured figures to three significant digits.
 */
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
