// HTML that escapes by default: the `html` tagged template every page and report of the
// coordinator is built with (the run and sweep reports, the login page). Every interpolated value
// is escaped unless it is already `SafeHtml` — made by `html` itself or explicitly by `raw(...)` —
// and arrays of values are joined, each part escaped the same way. `esc` is the escaping itself. Pure.

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** escape any value for HTML text and attribute values */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** markup known to be safe: only `html` and `raw` make one. No toString on purpose — concatenating
 *  it with `+` shows `[object Object]` instead of silently passing markup through unescaped. */
export class SafeHtml {
  private constructor(readonly value: string) {}
  /** @internal */
  static of(value: string): SafeHtml {
    return new SafeHtml(value);
  }
}

/** mark a string as safe markup (a constant stylesheet or script, a number-only SVG path): the
 *  one explicit way around escaping; never pass it data that came from a config, run or worker */
export function raw(markup: string): SafeHtml {
  return SafeHtml.of(markup);
}

/** what may be interpolated: safe markup as is, null/undefined/false as nothing, arrays joined,
 *  anything else escaped */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

/** the tagged template: html`<p title="${t}">${text}</p>` escapes t and text */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return SafeHtml.of(out);
}

/** safe fragments joined with a (constant) separator */
export function joinHtml(parts: readonly HtmlValue[], separator = ''): SafeHtml {
  return SafeHtml.of(parts.map(render).join(esc(separator)));
}
