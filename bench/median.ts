/** The middle value: one round slowed by the shared machine moves it less than it would a mean. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
