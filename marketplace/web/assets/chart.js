// The loss curve: an inline SVG line chart drawn from the progress points, no library.
const NS = 'http://www.w3.org/2000/svg';

function node(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** Round, readable tick values covering [lo, hi]. */
function ticks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Draws `points` ([{step, loss}], ordered by step) into `svg` (its viewBox sets the size), with steps on x from 0
 * to `totalSteps` (or the last step) and loss on y. Keeps the <title> and updates the <desc> for screen readers.
 */
export function drawLossCurve(svg, points, totalSteps) {
  const [, , width, height] = svg.getAttribute('viewBox').split(/\s+/).map(Number);
  const m = { left: 56, right: 16, top: 16, bottom: 40 };
  for (const child of [...svg.children]) if (child.tagName !== 'title' && child.tagName !== 'desc') child.remove();
  const desc = svg.querySelector('desc');
  const valid = points.filter((p) => Number.isFinite(p.loss));
  if (!valid.length) {
    if (desc) desc.textContent = 'No progress reported yet.';
    svg.append(node('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'No progress reported yet'));
    return;
  }
  const maxStep = Math.max(totalSteps || 0, valid[valid.length - 1].step, 1);
  let lo = Math.min(...valid.map((p) => p.loss));
  let hi = Math.max(...valid.map((p) => p.loss));
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.05;
  lo = Math.max(0, lo - pad);
  hi += pad;
  const x = (step) => m.left + (step / maxStep) * (width - m.left - m.right);
  const y = (loss) => m.top + (1 - (loss - lo) / (hi - lo)) * (height - m.top - m.bottom);

  for (const t of ticks(lo, hi, 4)) {
    svg.append(node('line', { class: 'grid', x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }));
    svg.append(node('text', { x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, String(t)));
  }
  for (const t of ticks(0, maxStep, 6)) {
    svg.append(node('text', { x: x(t), y: height - m.bottom + 16, 'text-anchor': 'middle' }, String(t)));
  }
  svg.append(node('line', { class: 'axis', x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom }));
  svg.append(node('line', { class: 'axis', x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }));
  svg.append(node('text', { x: (m.left + width - m.right) / 2, y: height - 6, 'text-anchor': 'middle' }, 'step'));
  svg.append(node('text', { x: 14, y: (m.top + height - m.bottom) / 2, 'text-anchor': 'middle',
    transform: `rotate(-90 14 ${(m.top + height - m.bottom) / 2})` }, 'loss'));
  const line = valid.map((p) => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' ');
  svg.append(node('polyline', { class: 'line', points: line }));
  const last = valid[valid.length - 1];
  svg.append(node('circle', { cx: x(last.step), cy: y(last.loss), r: 3.5, fill: 'currentColor', class: 'last' }));
  if (desc) {
    desc.textContent = `Loss from ${valid[0].loss.toFixed(4)} at step ${valid[0].step} to ${last.loss.toFixed(4)} `
      + `at step ${last.step} of ${maxStep}.`;
  }
}
