// The sweep report's one script, inlined into the page: click (or Enter/Space on) a column header
// of a `table.sortable` to sort its rows by that column, again to reverse. It is kept here as
// readable source; the report embeds it as is (no network, works from file://). Plain ES5-level
// browser JavaScript, not TypeScript: it never runs in Node.

export const SORT_TABLE_SCRIPT = `
(function () {
  'use strict';

  /** a cell's sort key: its data-v attribute when it has one (the raw number), else its text */
  function keyOf(row, column) {
    var cell = row.cells[column];
    return cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent;
  }

  /** numbers compare as numbers, anything else as text; empty keys sort last either way */
  function compare(a, b, ascending) {
    if (a === '' || b === '') return (a === '') - (b === '');
    var na = Number(a), nb = Number(b);
    var d = isNaN(na) || isNaN(nb) ? a.localeCompare(b) : na - nb;
    return ascending ? d : -d;
  }

  function makeSortable(table) {
    var headers = table.querySelectorAll('thead th');
    headers.forEach(function (th, column) {
      th.tabIndex = 0; // reachable by keyboard
      function sort() {
        // first click ascending, then alternate; aria-sort shows the arrow (CSS) and tells screen readers
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        headers.forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) { return compare(keyOf(x, column), keyOf(y, column), ascending); });
        rows.forEach(function (r) { body.appendChild(r); }); // re-appending moves each row into order
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sort();
        }
      });
    });
  }

  document.querySelectorAll('table.sortable').forEach(makeSortable);
})();
`;
