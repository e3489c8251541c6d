/**
 * The entity-pair matrix as a picture: cell (s, o) = max over relations r ≥ 1 of the probability
 * that r holds for subject s (row) and object o (column); entity names on both axes; predicted
 * pairs outlined; hovering a cell lists its top relations. DocuNet and DRE-MIR treat exactly this
 * `[e, e, ·]` matrix as an image.
 */
import type { PairMatrix } from './pipeline.js';

export interface HeatmapOptions {
  readonly entities: readonly string[];
  /** Relation name of class c. */
  readonly relationName: (c: number) => string;
  /** Predicted (s, o, c) triples, as `${s},${o},${c}`. */
  readonly predicted: ReadonlySet<string>;
  /** Side of the matrix area in CSS pixels. Default 360. */
  readonly size?: number;
  /** Compact: no axis names (small multiples). Default false. */
  readonly compact?: boolean;
}

// viridis, 9 stops
const STOPS = [
  '#440154',
  '#472d7b',
  '#3b528b',
  '#2c728e',
  '#21918c',
  '#28ae80',
  '#5ec962',
  '#addc30',
  '#fde725',
];
const rgb = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
const STOP_RGB = STOPS.map(rgb);

/** Viridis colour of `x` in [0, 1]. */
export function colour(x: number): string {
  const t = Math.min(1, Math.max(0, x)) * (STOP_RGB.length - 1);
  const i = Math.min(STOP_RGB.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [STOP_RGB[i]!, STOP_RGB[i + 1]!];
  return `rgb(${a.map((v, k) => Math.round(v + f * (b[k]! - v))).join(',')})`;
}

/** Max probability and its class over r ≥ 1 of one cell. */
function cellMax(p: readonly number[]): { value: number; cls: number } {
  let value = 0;
  let cls = 0;
  for (let c = 1; c < p.length; c++)
    if (p[c]! > value) {
      value = p[c]!;
      cls = c;
    }
  return { value, cls };
}

const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Draws `matrix` into a new `<figure>` with a canvas and a hover tooltip.
 * @example
 * container.append(renderHeatmap(result.matrix, { entities, relationName, predicted }));
 */
export function renderHeatmap(matrix: PairMatrix, o: HeatmapOptions): HTMLElement {
  const e = matrix.probs.length;
  const compact = o.compact ?? false;
  const cell = Math.max(
    compact ? 6 : 10,
    Math.min(compact ? 22 : 40, Math.floor((o.size ?? 360) / Math.max(1, e))),
  );
  const margin = compact ? { left: 22, top: 22 } : { left: 150, top: 130 };
  const w = margin.left + e * cell + (compact ? 8 : 80); // room for the last rotated column name
  const h = margin.top + e * cell + 8;
  const figure = document.createElement('figure');
  figure.className = 'heatmap';
  const canvas = document.createElement('canvas');
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `entity-pair matrix ${matrix.label}: ${e} × ${e} entities`);
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#222';
  // axes: rows = subject (head), columns = object (tail)
  for (let i = 0; i < e; i++) {
    const label = compact ? String(i) : `${short(o.entities[i] ?? `#${i}`, 20)} ${i}`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(label, margin.left - 4, margin.top + (i + 0.5) * cell);
    ctx.save();
    ctx.translate(margin.left + (i + 0.5) * cell, margin.top - 4);
    ctx.rotate(compact ? 0 : -Math.PI / 3);
    ctx.textAlign = compact ? 'center' : 'left';
    ctx.textBaseline = compact ? 'bottom' : 'middle';
    ctx.fillText(label, 0, 0);
    ctx.restore();
  }
  for (let s = 0; s < e; s++)
    for (let t = 0; t < e; t++) {
      const x = margin.left + t * cell;
      const y = margin.top + s * cell;
      if (s === t) {
        ctx.fillStyle = '#ddd';
        ctx.fillRect(x, y, cell, cell);
        continue;
      }
      ctx.fillStyle = colour(cellMax(matrix.probs[s]![t]!).value);
      ctx.fillRect(x, y, cell, cell);
      if (matrix.probs[s]![t]!.some((_, c) => o.predicted.has(`${s},${t},${c}`))) {
        ctx.strokeStyle = '#e4002b';
        ctx.lineWidth = Math.max(1.5, cell / 10);
        ctx.strokeRect(x + 1, y + 1, cell - 2, cell - 2);
      }
    }
  ctx.strokeStyle = '#888';
  ctx.lineWidth = 1;
  ctx.strokeRect(margin.left, margin.top, e * cell, e * cell);
  if (!compact) {
    ctx.fillStyle = '#555';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText('subject ↓  object →', 4, 14);
  }

  const tip = document.createElement('div');
  tip.className = 'tooltip';
  tip.hidden = true;
  canvas.addEventListener('mousemove', (ev) => {
    const r = canvas.getBoundingClientRect();
    const t = Math.floor((ev.clientX - r.left - margin.left) / cell);
    const s = Math.floor((ev.clientY - r.top - margin.top) / cell);
    if (s < 0 || t < 0 || s >= e || t >= e || s === t) return void (tip.hidden = true);
    const p = matrix.probs[s]![t]!;
    const top = p
      .map((v, c) => ({ v, c }))
      .slice(1)
      .sort((a, b) => b.v - a.v)
      .slice(0, 4);
    tip.innerHTML = '';
    const head = document.createElement('div');
    head.className = 'tooltip-head';
    head.textContent = `${o.entities[s]} → ${o.entities[t]}`;
    tip.append(head);
    for (const { v, c } of top) {
      const row = document.createElement('div');
      row.textContent = `${o.predicted.has(`${s},${t},${c}`) ? '✔ ' : ''}${o.relationName(c)}  ${v.toFixed(3)}`;
      tip.append(row);
    }
    tip.style.left = `${ev.clientX - r.left + 14}px`;
    tip.style.top = `${ev.clientY - r.top + 10}px`;
    tip.hidden = false;
  });
  canvas.addEventListener('mouseleave', () => void (tip.hidden = true));
  const caption = document.createElement('figcaption');
  caption.textContent = matrix.label;
  figure.append(canvas, tip, caption);
  return figure;
}

/** A horizontal colour bar for probabilities 0 … 1. */
export function renderLegend(): HTMLElement {
  const div = document.createElement('div');
  div.className = 'legend';
  div.innerHTML = `<span>0</span><span class="bar" style="background:linear-gradient(to right,${STOPS.join(',')})"></span><span>1</span>
    <span class="legend-note">max relation probability per pair; <span class="outlined">outlined</span>: predicted</span>`;
  return div;
}
