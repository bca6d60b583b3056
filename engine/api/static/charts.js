// Line charts on a canvas, with axes, a time scale and a message until there is data.

const PAD = { left: 46, right: 8, top: 18, bottom: 18 };

function tick(value) {
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

// points: [[timeMs, value], ...] over the last `spanMs`; the y axis starts at zero unless
// `fromZero` is false (prices, whose moves would be flat lines against zero).
export function drawLine(canvas, points, { label, spanMs = 60_000, fromZero = true, empty }) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const now = Date.now(), x0 = PAD.left, x1 = w - PAD.right, y0 = h - PAD.bottom, y1 = PAD.top;
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#9fb0cc";
  ctx.fillText(label, x0, 12);
  ctx.strokeStyle = "#2c3957";
  ctx.beginPath(); ctx.moveTo(x0, y1); ctx.lineTo(x0, y0); ctx.lineTo(x1, y0); ctx.stroke();
  ctx.fillText(`-${Math.round(spanMs / 1000)} s`, x0, h - 4);
  ctx.fillText("now", x1 - 20, h - 4);
  const shown = points.filter(([t]) => t >= now - spanMs);
  if (!shown.some(([, v]) => v !== 0)) {
    ctx.fillText(empty, x0 + (x1 - x0) / 2 - ctx.measureText(empty).width / 2, (y0 + y1) / 2);
    canvas.dataset.empty = "true";
    canvas.setAttribute("aria-label", `${label}: ${empty}`);
    return;
  }
  canvas.dataset.empty = "false";
  const values = shown.map(([, v]) => v);
  let low = fromZero ? 0 : Math.min(...values), high = Math.max(...values);
  // A canvas is a picture to a screen reader: its label says what it shows.
  canvas.setAttribute("aria-label", `${label}: ${tick(values[values.length - 1])} now, `
    + `${tick(Math.min(...values))} to ${tick(high)} over the last ${Math.round(spanMs / 1000)} s`);
  if (high - low < 1e-12) { high += Math.abs(high) * 0.001 || 1; low -= fromZero ? 0 : Math.abs(low) * 0.001; }
  const x = (t) => x0 + ((t - (now - spanMs)) / spanMs) * (x1 - x0);
  const y = (v) => y0 - ((v - low) / (high - low)) * (y0 - y1);
  ctx.fillText(tick(high), 2, y1 + 4);
  ctx.fillText(tick(low), 2, y0);
  ctx.strokeStyle = "#5b8cff";
  ctx.beginPath();
  shown.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
  ctx.stroke();
  if (shown.length === 1) {  // a line needs two points: show the first as a dot
    const [[t, v]] = shown;
    ctx.fillStyle = "#5b8cff";
    ctx.beginPath(); ctx.arc(x(t), y(v), 2.5, 0, 2 * Math.PI); ctx.fill();
  }
}
