import type { HTMLAttributes, ReactNode } from 'react';

/**
 * One column of a {@link Table}: its heading and what a row shows in it. A number column (`num`) is
 * right-aligned, heading included, and reads only what the table's total has too, so the same cell
 * writes the total row's figure under it.
 */
export type Column<Row, Total = Row> =
  | { head: ReactNode; cell: (row: Row) => ReactNode; num?: false }
  | { head: ReactNode; cell: (row: Total) => ReactNode; num: true };

/**
 * The console's table: a heading row, a row per item and, for the count tables, a total row whose
 * label spans the name columns before the first number. It scrolls sideways in its `.table-wrap` on
 * narrow screens instead of widening the page.
 */
export function Table<Row extends Total, Total = Row>({
  columns,
  rows,
  rowKey,
  rowProps,
  className,
  total,
}: {
  columns: ReadonlyArray<Column<Row, Total>>;
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  /** Attributes of a row's `<tr>` (e.g. `aria-selected`). */
  rowProps?: (row: Row) => HTMLAttributes<HTMLTableRowElement>;
  className?: string;
  total?: { label: string; of: Total };
}) {
  return (
    <div className="table-wrap">
      <table className={className}>
        <thead>
          <tr>
            {columns.map((column, i) => (
              <th key={i} scope="col" className={column.num ? 'num' : undefined}>
                {column.head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {columns.map((column, i) => (
                <td key={i} className={column.num ? 'num' : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
        {total ? <TotalRow columns={columns} label={total.label} of={total.of} /> : null}
      </table>
    </div>
  );
}

function TotalRow<Row, Total>({
  columns,
  label,
  of,
}: {
  columns: ReadonlyArray<Column<Row, Total>>;
  label: string;
  of: Total;
}) {
  const names = columns.findIndex((column) => column.num);
  const span = names < 0 ? columns.length : names;
  return (
    <tfoot>
      <tr>
        <td colSpan={span > 1 ? span : undefined}>{label}</td>
        {columns.slice(span).map((column, i) => (
          <td key={i} className={column.num ? 'num' : undefined}>
            {column.num ? column.cell(of) : null}
          </td>
        ))}
      </tr>
    </tfoot>
  );
}
