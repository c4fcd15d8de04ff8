// The reports' stylesheet: one look for the run report and the sweep report (the run report adds
// a few rules of its own).

export const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f6f7fa;--accent:#d9480f;--blue:#3b6fb6}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1080px;margin:0 auto;padding:0 20px}header{padding-top:24px}h1{font-size:26px;margin:0 0 4px}
.meta{color:var(--muted);margin:0 0 8px}section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:19px;margin:0 0 10px}.muted,.empty{color:var(--muted)}.empty{font-style:italic}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
thead th{background:#eef1f6;font-weight:600}td.num{text-align:right}tr.top td{background:#fff4e6;font-weight:600}
ul.findings{padding-left:20px}ul.findings li{margin:6px 0}
table.effects td.barcell{width:40%}.bar{display:block;height:10px;background:var(--blue);border-radius:2px}
.kpis{display:flex;gap:16px;flex-wrap:wrap;margin-bottom:12px}.kpis div{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:160px}
.kpis .k{display:block;color:var(--muted);font-size:13px}.kpis .v{font-size:22px;font-weight:600}
.pvgrid{display:flex;flex-wrap:wrap;gap:20px}table.pv caption{text-align:left;font-weight:600;padding-bottom:4px}
.scroll{max-height:560px;overflow:auto;border:1px solid var(--line)}table.sortable{width:100%}
table.sortable thead th{position:sticky;top:0;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
.status{padding:0 6px;border-radius:4px;font-size:13px}.status.finished{background:#e3f4e8}.status.stopped{background:#fff1c2}
.status.failed{background:#fde2e1}.status.queued,.status.running{background:#e8ecf3}
.chart-svg svg{display:block;max-width:100%;height:auto}
footer{max-width:1080px;margin:0 auto 24px;padding:0 20px;color:var(--muted);font-size:13px}`;
