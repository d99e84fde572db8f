// Sorting and filtering of the articles table; the page reads fine without it (rows come worst first).
(() => {
  const table = document.getElementById("articles");
  if (!table) return;
  const body = table.tBodies[0];
  const heads = [...table.tHead.rows[0].cells];
  const key = (row, col, numeric) => {
    const cell = row.cells[col];
    const v = cell.dataset.v ?? cell.textContent.trim();
    return numeric ? (v === "" ? -Infinity : Number(v)) : v.toLowerCase();
  };
  heads.forEach((th, col) => {
    const button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", () => {
      const numeric = button.dataset.type === "number";
      const now = th.getAttribute("aria-sort");
      const dir = now === "descending" ? "ascending" : now === "ascending" ? "descending"
        : numeric ? "descending" : "ascending";
      heads.forEach((h) => { if (h.querySelector("button")) h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", dir);
      const sign = dir === "ascending" ? 1 : -1;
      [...body.rows]
        .sort((a, b) => { const x = key(a, col, numeric), y = key(b, col, numeric); return (x < y ? -1 : x > y ? 1 : 0) * sign; })
        .forEach((row) => body.appendChild(row));
    });
  });
  const verdict = document.getElementById("verdict-filter");
  const text = document.getElementById("text-filter");
  const shown = document.getElementById("shown");
  const filter = () => {
    const v = verdict.value, q = text.value.trim().toLowerCase();
    let n = 0;
    for (const row of body.rows) {
      row.hidden = (v !== "" && row.dataset.verdict !== v) || (q !== "" && !row.textContent.toLowerCase().includes(q));
      n += row.hidden ? 0 : 1;
    }
    shown.textContent = `${n} of ${body.rows.length} articles shown`;
  };
  verdict.addEventListener("change", filter);
  text.addEventListener("input", filter);
})();
