import { CHART_MINUTES } from "./minute-series.js";

const WIDTH = CHART_MINUTES * 3;
const HEIGHT = 32;

/**
 * A small bar chart, an SVG drawn on the server: a bar a minute, scaled to the busiest minute. The
 * title says the numbers for screen readers and on hover; `data-total` is the same sum, for tests.
 */
export function MinuteChart(props: { label: string; values: number[]; tone: "traffic" | "errors" }) {
  const max = Math.max(0, ...props.values);
  const total = props.values.reduce((sum, n) => sum + n, 0);
  const summary = `${props.label}: ${total} in the last hour, at most ${max} in a minute`;
  return (
    <svg
      class={`chart ${props.tone}`}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width={WIDTH}
      height={HEIGHT}
      // Stretched as the stylesheet sizes it: the overview draws it narrower.
      preserveAspectRatio="none"
      role="img"
      aria-label={summary}
      data-total={total}
      data-max={max}
    >
      <title>{summary}</title>
      <line class="baseline" x1={0} y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
      {props.values.map((n, i) => {
        if (n === 0) return null;
        // At least a pixel, so a single span in a busy hour still shows.
        const height = Math.max(1, Math.round((n / max) * (HEIGHT - 2)));
        return <rect x={i * 3} y={HEIGHT - height} width={2} height={height} />;
      })}
    </svg>
  );
}
