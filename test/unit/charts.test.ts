// The reports' chart module (coordinator/report/charts.ts): ECharts' server-side SVG, checked
// against what follows from the option by hand — a point's position from the axis ranges and the
// fixed plot margins, the legend's names, escaped user text — and made deterministic and
// script-free.
import { describe, expect, it } from 'vitest';
import { baseOption, renderChart, type Chart } from '../../coordinator/report/charts.js';

const EVIL = '<script>alert(1)</script>"';

function lineChart(id = 'test', name = 'train loss', tip = (i: number) => `point ${i}`): Chart {
  return {
    id,
    width: 500,
    height: 300,
    label: `a chart of ${name}`,
    option: {
      ...baseOption(), // plot area: left 64, right 40, top 52, bottom 40
      xAxis: { type: 'value', min: 0, max: 10 },
      yAxis: { type: 'value', min: 0, max: 1 },
      series: [
        {
          name,
          type: 'line',
          data: [
            [2.5, 0.25],
            [10, 1],
          ],
        },
        { name: 'second', type: 'line', data: [[5, 0.5]] },
      ],
    },
    series: [{ key: 'first', tip }, { key: 'second' }],
  };
}

/** the translation of a data item's symbol: its centre */
function centre(svg: string, key: string, index: number): [number, number] {
  const m = new RegExp(
    `<path [^>]*matrix\\([^,]+,0,0,[^,]+,([\\d.]+),([\\d.]+)\\)[^>]*data-series="${key}" data-index="${index}"`,
  ).exec(svg);
  expect(m, `${key}[${index}]`).not.toBeNull();
  return [Number(m![1]), Number(m![2])];
}

describe('renderChart', () => {
  const svg = renderChart(lineChart()).value;

  it('puts a point where the axis ranges and the plot margins say', () => {
    // x: 64 + 2.5/10 × (500 − 64 − 40) = 163; y: 52 + (1 − 0.25) × (300 − 52 − 40) = 208
    const [x, y] = centre(svg, 'first', 0);
    expect(x).toBeCloseTo(163, 0);
    expect(y).toBeCloseTo(208, 0);
    // the plot's corners: (10, 1) top right, and the second series' (5, 0.5) in the middle
    const [x1, y1] = centre(svg, 'first', 1);
    expect([x1, y1]).toEqual([460, 52]);
    const [x2, y2] = centre(svg, 'second', 0);
    expect(x2).toBeCloseTo(262, 0);
    expect(y2).toBeCloseTo(156, 0);
  });

  it('draws the legend with the series names, hooks and tooltips on the data items, a class on each line', () => {
    const texts = [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toContain('train loss');
    expect(texts).toContain('second');
    expect(svg.match(/data-series="first" data-index="\d+"/g)).toHaveLength(2);
    expect(svg).toContain('data-series="first" data-index="1"');
    expect(svg).toMatch(/data-series="first" data-index="0"[^>]*><title>point 0<\/title><\/path>/);
    // the second series has no tooltips
    expect(svg).not.toMatch(/data-series="second"[^>]*><title>/);
    // a line per series, through its points (the second's, a single point, is only a move-to)
    expect([...svg.matchAll(/<path class="line" d="([^"]*)"/g)].map((m) => m[1])).toEqual([
      'M163 208L460 52',
      'M262 156',
    ]);
    expect(svg).toMatch(
      /^<div class="chart-svg" data-chart="test"><svg role="img" aria-label="a chart of train loss" /,
    );
    expect(svg).toContain('<title>a chart of train loss</title>');
  });

  it('is deterministic: ids prefixed with the chart id, no renderer counter, no stylesheet', () => {
    renderChart(lineChart('other'));
    expect(renderChart(lineChart()).value).toBe(svg);
    expect(svg).not.toMatch(/zr\d+-/);
    expect(svg).toMatch(/clip-path="url\(#test-c\d+\)"/);
    expect(svg).not.toContain('<style');
    expect(svg).not.toContain('\n');
    expect(renderChart(lineChart('other')).value).toMatch(/clip-path="url\(#other-c\d+\)"/);
    // only ids are renamed, never text that looks like one
    expect(renderChart(lineChart('other', 'zr0-c0')).value).toContain('>zr0-c0</text>');
  });

  it('escapes user text: series names (in the legend), labels and tooltips', () => {
    const out = renderChart(lineChart('evil', EVIL, () => EVIL)).value;
    expect(out).not.toMatch(/<script/i);
    expect(out).not.toContain(EVIL);
    expect(out).not.toContain('[object Object]');
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;';
    expect(out).toContain(`>${escaped}</text>`); // the legend
    expect(out).toContain(`<title>${escaped}</title>`); // a tooltip
    expect(out).toContain(`aria-label="a chart of ${escaped}"`);
  });

  it('escapes axis names and category labels, parallel axes included', () => {
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;';
    const cartesian = renderChart({
      ...lineChart('axes'),
      option: {
        ...baseOption(),
        xAxis: { type: 'category', name: EVIL, data: [EVIL, 'b'] },
        yAxis: { type: 'value', name: EVIL },
        series: [{ name: 'a', type: 'bar', data: [1, 2] }],
      },
      series: [{ key: 'a', tip: (i) => `${EVIL} ${i}` }],
    }).value;
    const parallel = renderChart({
      id: 'par',
      width: 600,
      height: 300,
      label: 'p',
      option: {
        parallelAxis: [
          { dim: 0, name: EVIL, type: 'category', data: [EVIL, 'x'] },
          { dim: 1, name: 'm', type: 'value' },
        ],
        series: [{ type: 'parallel', data: [[EVIL, 1]] }],
      },
      series: [{ key: 'trial', tip: () => EVIL }],
    }).value;
    for (const [out, texts] of [
      [cartesian, 3], // x axis name and category label, y axis name
      [parallel, 2], // axis name and category label
    ] as const) {
      expect(out).not.toMatch(/<script/i);
      expect(out).not.toContain(EVIL);
      expect(out.split(`>${escaped}</text>`).length - 1).toBe(texts);
    }
    expect(parallel).toContain(`data-series="trial" data-index="0"`);
    expect(parallel).toContain(`<title>${escaped}</title>`);
  });

  it('refuses an id that could not prefix SVG ids', () => {
    expect(() => renderChart(lineChart('a "b"'))).toThrow(/chart id/);
  });
});
