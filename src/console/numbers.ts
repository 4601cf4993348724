import { costText } from "../stats/columns.js";

/** Counts as an operator reads them at any size: grouped by thousands (12,015, not 12015). */
const COUNT = new Intl.NumberFormat("en-US");
/** Dollars from one up: to the cent, grouped. Below, six places, so a single call's cost still shows. */
const DOLLARS = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function countText(n: number): string {
  return COUNT.format(n);
}

/** A count of a noun, in words: "1 dead letter", "12,015 spans". */
export function countOf(n: number, noun: string): string {
  return `${countText(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** A statistics cell: a count grouped, anything else (a "-" for no latency) as it is. */
export function cellText(value: string | number): string {
  return typeof value === "number" ? countText(value) : value;
}

export function dollarsText(usd: number): string {
  // Chosen once rounded: 0.9999996 is a dollar.
  return Number(usd.toFixed(6)) >= 1 ? DOLLARS.format(usd) : costText(usd);
}
