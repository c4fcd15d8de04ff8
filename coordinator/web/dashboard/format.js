// Formatting of numbers, durations and parameter values for the dashboard, and its two DOM
// helpers: `$` (by id) and `el`, which builds an element whose text is set with textContent —
// the page's only way of showing data (names come from workers: never an HTML sink).
import { now } from './state.js';

export const $ = (id) => document.getElementById(id);
export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

export function fmt(v, digits = 4) {
  if (!isNum(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? v.toFixed(0) : v.toPrecision(digits);
}
export const pct = (v) => (isNum(v) ? `${(v * 100).toFixed(2)}%` : '—');
export const int = (v) => (isNum(v) ? Math.round(v).toLocaleString('en-US') : '—');

export function duration(s) {
  if (!isNum(s) || s < 0) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** how long before the coordinator's now `t` was */
export function ago(t) {
  if (!isNum(t) || t <= 0) return '—';
  const s = Math.max(0, (now() - t) / 1000);
  return s < 10 ? `${s.toFixed(1)} s ago` : `${duration(s)} ago`;
}

export function paramText(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return fmt(v);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** a new element: `class`, `data-*` and other attributes, and its text (as text, never HTML) */
export function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.dataset[k.slice(5).replace(/-(\w)/g, (_, c) => c.toUpperCase())] = String(v);
    else e.setAttribute(k, String(v));
  }
  if (text !== undefined) e.textContent = text; // never innerHTML: names come from workers
  return e;
}
