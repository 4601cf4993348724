import { CHART_MINUTES } from "./minute-series.js";
import { countText } from "./numbers.js";

const WIDTH = CHART_MINUTES * 3;
const HEIGHT = 32;
/** Where the busiest minute's bar ends: the top of the scale, a line its number is written beside. */
const TOP = 2;

/**
 * A small bar chart, an SVG drawn on the server: a bar a minute, scaled to the busiest minute, with
 * its scale beside it: that minute's number at the top, 0 at the baseline (the unit is the chart's
 * caption or column heading: spans or errors a minute). The scale is written in HTML, not in the SVG,
 * which the stylesheet stretches. The title says the numbers for screen readers and on hover;
 * `data-total` is the same sum, for tests.
 */
export function MinuteChart(props: { label: string; values: number[]; tone: "traffic" | "errors" }) {
  const max = Math.max(0, ...props.values);
  const total = props.values.reduce((sum, n) => sum + n, 0);
  const summary = `${props.label}: ${countText(total)} in the last hour, at most ${countText(max)} in a minute`;
  return (
    <span class="minute-chart">
      <span class="scale" aria-hidden="true">
        <span class="max">{max > 0 ? countText(max) : ""}</span>
        <span class="zero">0</span>
      </span>
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
        {max > 0 && <line class="max" x1={0} y1={TOP - 0.5} x2={WIDTH} y2={TOP - 0.5} />}
        <line class="baseline" x1={0} y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
        {props.values.map((n, i) => {
          if (n === 0) return null;
          // At least a pixel, so a single span in a busy hour still shows.
          const height = Math.max(1, Math.round((n / max) * (HEIGHT - TOP)));
          return <rect x={i * 3} y={HEIGHT - height} width={2} height={height} />;
        })}
      </svg>
    </span>
  );
}
